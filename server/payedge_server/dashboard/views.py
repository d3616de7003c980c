"""The dashboard's two documents: the sign-in form (nothing from the store) and the staff page.

The staff page is a shell: dashboard.js fills it from the /v1 API and keeps it live
over `/v1/stream`. Every control has a visible label; live regions announce changes
(the degraded mode to everyone, the outcome of one's own actions).
"""

from __future__ import annotations

from payedge_server.pages import esc

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/dashboard/static/dashboard.css">
{extra}</head>
"""


def sign_in_page(error: str | None = None) -> str:
    message = f'<p class="error" role="alert" id="sign-in-error">{esc(error)}</p>' if error else ""
    return (
        _HEAD.format(title="payedge · sign in", extra="")
        + f"""<body class="sign-in">
<main>
<h1>payedge</h1>
<p>Staff dashboard: sign in with an API key.</p>
{message}
<form method="post" action="/dashboard/session" id="sign-in">
<label for="api_key">API key</label>
<input id="api_key" name="api_key" type="password" autocomplete="current-password" required
 autofocus spellcheck="false">
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""
    )


_VIEWS = (
    ("terminals", "Terminals"),
    ("payments", "Payments"),
    ("parking", "Parking"),
    ("fallback", "Degraded mode"),
    ("gateways", "Gateways"),
)


def _tabs() -> str:
    buttons = "\n".join(
        f'<button type="button" role="tab" id="tab-{key}" aria-controls="view-{key}" data-view="{key}"'
        f' aria-selected="false">{label}</button>'
        for key, label in _VIEWS
    )
    return f'<nav class="tabs" role="tablist" aria-label="Views">\n{buttons}\n</nav>'


_MAIN = """
<section id="view-terminals" role="tabpanel" aria-labelledby="tab-terminals" hidden>
<h2>Card terminals</h2>
<p class="empty" id="terminals-off" hidden>No card terminals are configured on this server
 (start it with <code>--terminals T1,T2</code>).</p>
<ul id="terminal-list" class="cards" aria-live="polite"></ul>
<h2>Queue <span class="count" id="queue-count">0</span></h2>
<ol id="queue-list" class="queue" aria-live="polite" data-version="0"></ol>
<p class="empty" id="queue-empty">Nobody is waiting.</p>
<form id="enqueue-form" class="inline-form">
<h3>Add to the queue</h3>
<label for="enqueue-payment">Payment id</label>
<input id="enqueue-payment" name="payment_id" required maxlength="255" autocomplete="off" spellcheck="false">
<label for="enqueue-user">Customer</label>
<input id="enqueue-user" name="user_id" required maxlength="255" autocomplete="off">
<button type="submit">Add to queue</button>
</form>
</section>

<section id="view-payments" role="tabpanel" aria-labelledby="tab-payments" hidden>
<h2>Payments</h2>
<table id="payment-table">
<caption class="visually-hidden">Latest payments, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Payment</th><th scope="col">Amount</th>
<th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody id="payment-rows"></tbody>
</table>
<p class="empty" id="payments-empty">No payments yet.</p>
</section>

<section id="view-parking" role="tabpanel" aria-labelledby="tab-parking" hidden>
<h2>Parking sessions</h2>
<p class="empty" id="parking-off" hidden>Parking is not configured on this server
 (start it with <code>--mqtt-url</code> and <code>--tariff</code>).</p>
<ul id="session-list" class="rows"></ul>
<div id="session-detail" hidden>
<h3>Session <span id="detail-plate"></span> <span class="badge" id="detail-state"></span></h3>
<ol id="detail-timeline" class="timeline" aria-label="Audit trail"></ol>
<form id="override-form" class="inline-form">
<h4>Open the barrier without payment</h4>
<label for="override-operator">Who</label>
<input id="override-operator" name="operator" required maxlength="500" autocomplete="name">
<label for="override-reason">Why</label>
<input id="override-reason" name="reason" required maxlength="500">
<button type="submit" class="danger">Override</button>
</form>
</div>
</section>

<section id="view-fallback" role="tabpanel" aria-labelledby="tab-fallback" hidden>
<h2>Degraded mode</h2>
<p id="fallback-state" class="state" data-enabled="false">Normal operation.</p>
<form id="fallback-form" class="inline-form">
<label for="fallback-who">Who</label>
<input id="fallback-who" name="who" required maxlength="500" autocomplete="name">
<label for="fallback-why">Why</label>
<input id="fallback-why" name="why" required maxlength="500">
<button type="submit" id="fallback-toggle" class="danger">Turn degraded mode on</button>
</form>
</section>

<section id="view-gateways" role="tabpanel" aria-labelledby="tab-gateways" hidden>
<h2>Payment gateways</h2>
<ul id="gateway-list" class="cards"></ul>
</section>
"""


def app_page(csrf_token: str) -> str:
    extra = (
        f'<meta name="csrf-token" content="{esc(csrf_token)}">\n'
        '<script src="/dashboard/static/dashboard.js" defer></script>\n'
    )
    return (
        _HEAD.format(title="payedge · dashboard", extra=extra)
        + f"""<body>
<header class="top">
<h1>payedge</h1>
<span id="live" class="live" data-state="connecting" role="status">Connecting…</span>
<form method="post" action="/dashboard/logout" class="sign-out">
<input type="hidden" name="csrf_token" value="{esc(csrf_token)}">
<button type="submit">Sign out</button>
</form>
</header>
<!-- Live regions stay in the page (empty when quiet): a region shown at the moment it is
 filled is not announced by every screen reader. -->
<div id="fallback-banner" class="banner" role="alert" aria-live="assertive" aria-atomic="true"></div>
<div id="announce" class="announce" role="status" aria-live="polite"></div>
{_tabs()}
<main>{_MAIN}</main>
</body>
</html>
"""
    )


def refused_page(message: str) -> str:
    return (
        _HEAD.format(title="payedge · refused", extra="")
        + f"""<body class="sign-in">
<main><h1>payedge</h1><p class="error" role="alert">{esc(message)}</p>
<p><a href="/dashboard">Back to the dashboard</a></p></main>
</body>
</html>
"""
    )
