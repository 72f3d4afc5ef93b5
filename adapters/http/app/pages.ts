/**
 * The HTML of the buyer's page and of the live view: the structure, server
 * side, so that it reads without scripts; web/*.ts fills it in and keeps it
 * live. Element ids here are what the scripts and the browser tests use.
 */

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function shell(title: string, assetsPath: string, bodyAttributes: string, content: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<link rel="stylesheet" href="${assetsPath}/app.css">
<script type="module" src="${assetsPath}/${script}"></script>
</head>
<body ${bodyAttributes}>
${content}
</body>
</html>
`;
}

const LEGEND = `<ul class="legend" aria-label="What the letters mean">
<li><strong>A</strong> available</li><li><strong>H</strong> held</li><li><strong>S</strong> sold</li><li><strong>Y</strong> yours</li>
</ul>`;

/** Only in the page of a service that has the dev sign-in: elsewhere it is not in the page at all. */
const DEV_SIGN_IN_FORM = `<form id="dev-sign-in-form">
<label for="dev-user">User id</label>
<input id="dev-user" name="userId" autocomplete="username" required maxlength="64" pattern="[A-Za-z0-9_.:\\-]{1,64}">
<button id="dev-sign-in" type="submit">Sign in (dev)</button>
</form>`;

export interface BuyerPageOptions {
  readonly assetsPath: string;
  readonly devSignIn: boolean;
  readonly maxSeatsPerUser: number;
}

export function buyerPage(options: BuyerPageOptions): string {
  const devHint = options.devSignIn
    ? `<p class="hint">Dev sign-in: this service made its own auth secret (the embedded default), so it signs an access token for any user id you type. It does not exist when the service verifies a real identity provider's tokens.</p>`
    : `<p class="hint" id="paste-hint">This service verifies access tokens from an identity provider: paste one (a JWT whose <code>sub</code> is your user id).</p>`;
  return shell(
    "Buy tickets",
    options.assetsPath,
    `data-max-seats="${options.maxSeatsPerUser}"`,
    `<header><h1>Buy tickets</h1><nav><a href="/docs">API reference</a></nav></header>
<main>
<div id="notice" role="alert" hidden></div>
<p id="status" role="status" class="hint"></p>

<section id="sign-in" aria-labelledby="sign-in-title">
<h2 id="sign-in-title">1. Sign in</h2>
${devHint}
${options.devSignIn ? DEV_SIGN_IN_FORM : ''}
<form id="paste-token-form">
<label for="paste-token">${options.devSignIn ? 'Or paste an access token (<code>npm run -s token -- &lt;userId&gt;</code>)' : 'Access token'}</label>
<textarea id="paste-token" name="token" spellcheck="false" required></textarea>
<button type="submit">Use this token</button>
</form>
<p id="signed-in" hidden>Signed in as <strong id="user-id"></strong>. <button id="sign-out" type="button">Sign out</button></p>
</section>

<section id="schedule-section" aria-labelledby="schedule-title">
<h2 id="schedule-title">2. Choose a date</h2>
<label for="schedule">Concert and date</label>
<select id="schedule"></select>
<p><a id="live-link" hidden>Watch this sale live</a></p>
</section>

<section id="queue" aria-labelledby="queue-title">
<h2 id="queue-title">3. Wait in line</h2>
<p id="queue-status" aria-live="polite"></p>
<button id="join" type="button">Join the line</button>
<button id="leave" type="button" hidden>Leave the line</button>
</section>

<section id="seats" aria-labelledby="seats-title">
<h2 id="seats-title">4. Pick seats</h2>
<p class="hint">Up to <span id="seat-limit"></span> seats each. The map is at most a second old; the service decides who gets a seat. <span id="live-mode"></span></p>
${LEGEND}
<div id="seat-map" class="seat-map" role="group" aria-label="Seats"></div>
</section>

<section id="wallet" aria-labelledby="wallet-title">
<h2 id="wallet-title">5. Your holds and points</h2>
<p id="holds-empty" class="hint">No seat held.</p>
<ul id="hold-list"></ul>
<p><button id="pay-all" type="button" hidden>Pay for all holds</button></p>
<p>Balance: <strong id="balance"></strong></p>
<form id="charge-form">
<label for="charge-amount">Points to add</label>
<input id="charge-amount" name="amount" type="number" min="1" max="1000000" step="1" value="100000" required>
<button type="submit">Charge</button>
</form>
</section>

<section id="tickets" aria-labelledby="tickets-title">
<h2 id="tickets-title">6. Your tickets</h2>
<p id="tickets-empty" class="hint">None yet.</p>
<ul id="ticket-list"></ul>
</section>
</main>`,
    'buyer.js',
  );
}

export function livePage(assetsPath: string, scheduleId: string): string {
  const id = escape(scheduleId);
  return shell(
    `Live: schedule ${scheduleId}`,
    assetsPath,
    `data-schedule-id="${id}"`,
    `<header><h1>Live: schedule <code>${id}</code></h1><nav><a href="/app?schedule=${encodeURIComponent(scheduleId)}">Buy</a> · <a href="/docs">API reference</a></nav></header>
<main>
<p id="error" role="alert" hidden></p>
<dl class="counts">
<div><dt>Available</dt><dd id="count-available">–</dd></div>
<div><dt>Held</dt><dd id="count-held">–</dd></div>
<div><dt>Sold</dt><dd id="count-sold">–</dd></div>
<div><dt>Waiting in line</dt><dd id="queue-waiting">–</dd></div>
<div><dt>Buying now (ACTIVE)</dt><dd id="queue-active">–</dd></div>
<div><dt>Admitted</dt><dd id="queue-rate">–</dd></div>
</dl>
<p class="hint">Updated <span id="updated-at">–</span> by <span id="live-mode">–</span>.</p>
${LEGEND.replace('<li><strong>Y</strong> yours</li>', '')}
<ul id="seat-map" class="seat-map" aria-label="Seats"></ul>
</main>`,
    'live.js',
  );
}
