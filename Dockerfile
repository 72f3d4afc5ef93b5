# The service runs TypeScript through tsx: no build step, one image.
FROM node:22-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY core ./core
COPY adapters ./adapters
COPY app ./app
COPY tsconfig.json ./
EXPOSE 3000
USER node
# node directly (not npm) so SIGTERM reaches the process and shutdown is graceful.
CMD ["node", "--import", "tsx", "app/main.ts"]
