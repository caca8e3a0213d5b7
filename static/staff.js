// The bench's live worklist, and the critical values board. The pages work without this script (every scan or
// acknowledgement reloads them); it keeps the worklist current as other people scan (each tube's step, added when
// it arrives, gone when it leaves this bench), and re-reads the board when it changes (unless a read-back is being
// typed: then it says so and waits for the person).
// One socket; exponential backoff with jitter on reconnect; a lost bus or a dropped socket re-reads the page.
const table = document.querySelector("table.worklist tbody");
const board = document.getElementById("critical-board");
const badge = document.getElementById("live");
const words = JSON.parse(document.getElementById("staff-words")?.textContent || "{}");
let attempt = 0;
let everConnected = false;

function show(state) {
  if (!badge) return;
  badge.hidden = false;
  badge.textContent = badge.dataset[state];
  badge.className = "live" + (state === "live" ? "" : " reconnecting");
  badge.dataset.state = state;
}

function rowFor(frame) {
  const row = document.createElement("tr");
  row.id = `tube-${frame.barcode}`;
  const head = document.createElement("th");
  head.scope = "row";
  head.textContent = frame.barcode;
  row.append(head);
  for (let i = 0; i < 4; i += 1) row.append(document.createElement("td"));
  return row;
}

function apply(frame) {
  if (!table) return;
  let row = document.getElementById(`tube-${frame.barcode}`);
  if (!frame.on_bench) {
    if (row) row.remove();
    return;
  }
  if (!row) {
    row = rowFor(frame);
    table.append(row);
  }
  row.dataset.state = frame.state;
  row.cells[2].textContent = words[frame.state] || frame.state;
}

function boardChanged() {
  const typing = [...board.querySelectorAll("textarea")].some((t) => t.value.trim());
  if (typing) document.getElementById("board-changed").hidden = false;
  else location.reload();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/staff`);
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === "ready") {
      if (everConnected) location.reload(); // steps may have happened while the socket was away
      everConnected = true;
      attempt = 0;
      show("live");
      // The board changed between this page's read and the socket's opening: read it again.
      if (board && frame.mark !== undefined && frame.mark !== board.dataset.mark) boardChanged();
    } else if (frame.type === "tube") {
      apply(frame);
    } else if (frame.type === "critical" && board) {
      boardChanged();
    } else if (frame.type === "resync") {
      location.reload();
    }
  };
  socket.onclose = (event) => {
    if (event.code === 4401) {
      location.href = "/staff"; // signed out: to the sign-in form
      return;
    }
    show("reconnecting");
    attempt += 1;
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    setTimeout(connect, delay);
  };
}

if (table || board) connect();
