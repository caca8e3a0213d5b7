// Live status for the "my tests" page. The page works without this script; it only keeps the cards current.
// One socket; exponential backoff with jitter on reconnect; resumes from the last event id it has seen.
const cards = document.getElementById("cards");
const badge = document.getElementById("live");
const patient = cards ? cards.dataset.patient : "";
let lastEventId = cards ? Number(cards.dataset.lastEventId || 0) : 0;
let attempt = 0;
let socket = null;
let pinger = null;
let refreshing = null;

function show(state) {
  if (!badge) return;
  badge.hidden = false;
  badge.textContent = badge.dataset[state];
  badge.className = "live" + (state === "live" ? "" : " reconnecting");
  badge.dataset.state = state;
}

async function refresh() {
  // Swap in freshly rendered cards (same words and times as a reload would show).
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const r = await fetch(`/my-tests/cards?patient=${encodeURIComponent(patient)}`, { credentials: "same-origin" });
      if (r.ok) cards.innerHTML = await r.text();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ patient, last_event_id: String(lastEventId) });
  socket = new WebSocket(`${scheme}://${location.host}/ws/status?${query}`);
  socket.onopen = () => {
    attempt = 0;
    show("live");
    pinger = setInterval(() => socket.readyState === 1 && socket.send('{"type":"ping"}'), 25000);
  };
  socket.onmessage = (msg) => {
    const frame = JSON.parse(msg.data);
    if (frame.type === "snapshot") {
      if (frame.last_event_id !== lastEventId) refresh();
      lastEventId = Math.max(lastEventId, frame.last_event_id);
    } else if (frame.type === "event") {
      if (frame.last_event_id > lastEventId) lastEventId = frame.last_event_id;
      refresh();
    }
  };
  socket.onclose = (ev) => {
    clearInterval(pinger);
    if (ev.code === 4401 || ev.code === 4403) {
      show("offline");  // signed out or not allowed: a reload takes the user to sign-in
      return;
    }
    show("reconnecting");
    const base = Math.min(30000, 500 * 2 ** attempt++);
    setTimeout(connect, base / 2 + Math.random() * base / 2);
  };
}

if (cards && patient && "WebSocket" in window) connect();
