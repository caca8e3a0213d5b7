// The teleconsult room, for both sides: camera and microphone, one RTCPeerConnection to the server's relay,
// signalling over a WebSocket (typed JSON frames), consent, mute, leave, and rejoin after a dropped connection.
// The doctor's page also shows the live transcript, the SOAP draft to edit and sign, and the patient's results.
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("consult-config").textContent);
  const texts = JSON.parse(document.getElementById("consult-texts").textContent);
  const $ = (id) => document.getElementById(id);
  const doctor = cfg.side === "doctor";
  let ws = null, pc = null, stream = null, left = false, retry = 0, pinger = null, moves = 0;
  const remote = new MediaStream();
  $("remote").srcObject = remote;

  function status(text, ok) {
    $("status").textContent = text;
    $("status").classList.toggle("reconnecting", !ok);
  }
  function problem(text) {
    $("problem").textContent = text;
    $("problem").hidden = !text;
  }
  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  async function media() {
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio, video: true });
    } catch (e) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio, video: false });
      } catch (e2) {
        problem(texts.camera);
        throw e2;
      }
    }
    $("local").srcObject = stream;
  }

  function gathered(connection) {
    // The relay (aiortc) does not take trickled candidates from us before the answer, so send them in the offer.
    return new Promise((resolve) => {
      if (connection.iceGatheringState === "complete") return resolve();
      const done = () => { if (connection.iceGatheringState === "complete") resolve(); };
      connection.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
  }

  async function offer() {
    if (pc) pc.close();
    pc = new RTCPeerConnection({ iceServers: cfg.iceServers });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    if (!stream.getVideoTracks().length) pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      for (const old of remote.getTracks().filter((t) => t.kind === event.track.kind)) remote.removeTrack(old);
      remote.addTrack(event.track);
    };
    pc.onconnectionstatechange = () => {
      if (pc && pc.connectionState === "failed" && !left) reconnect();
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${scheme}//${location.host}${cfg.socket}`);
    ws.onopen = () => { retry = 0; offer().catch((e) => problem(String(e))); };
    ws.onmessage = (event) => handle(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (left) return;
      if (event.code === 4421 && moves < 3) { moves += 1; ws = null; connect(); return; } // to the room's process
      reconnect();
    };
  }

  function reconnect() {
    if (left) return;
    status(texts.waiting, false);
    if (ws && ws.readyState === WebSocket.OPEN) ws.close();
    ws = null;
    retry = Math.min(retry + 1, 5);
    setTimeout(() => { if (!left && !ws) connect(); }, 1000 * retry);
  }

  function handle(m) {
    switch (m.type) {
      case "answer":
        pc.setRemoteDescription({ type: "answer", sdp: m.sdp }).catch((e) => problem(String(e)));
        break;
      case "peer_joined": status(texts.connected, true); break;
      case "peer_left": status(texts.waiting, false); break;
      case "consent": // sent first by the process that owns the room: this socket stays
        moves = 0;
        if (m.side === cfg.side) $("consent").checked = m.given;
        else if (doctor) $("patient-consent").hidden = !m.given;
        break;
      case "quality": showQuality(m); break;
      case "error": problem(m.message); break;
      case "ended": problem(m.reason); left = true; if (pc) pc.close(); break;
      case "moved": // the room lives on another web process: the load balancer sends this cookie's requests there
        document.cookie = `lp_node=${encodeURIComponent(m.node)}; path=/; SameSite=Strict${location.protocol === "https:" ? "; Secure" : ""}`;
        break;
      case "transcript": if (doctor) addLine(m); break;
      case "soap_draft": if (doctor) showDraft(m.draft); break;
      case "labs": if (doctor) showLabs(m.results); break;
      default: break;
    }
  }

  function showQuality(q) {
    const el = $("quality");
    if (!el || q.loss === null) return;
    const grade = q.loss > 0.08 || (q.rtt_ms || 0) > 600 ? "poor" : q.loss > 0.02 || (q.rtt_ms || 0) > 300 ? "fair" : "good";
    el.textContent = el.dataset[grade];
  }

  $("consent").addEventListener("change", (e) => send({ type: "consent", given: e.target.checked }));
  function toggle(button, kind) {
    const tracks = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    const on = !tracks.every((t) => t.enabled);
    tracks.forEach((t) => { t.enabled = on; });
    button.textContent = on ? button.dataset.on : button.dataset.off;
    send({ type: "mute", audio: stream.getAudioTracks().some((t) => t.enabled), video: stream.getVideoTracks().some((t) => t.enabled) });
  }
  $("mute").addEventListener("click", (e) => toggle(e.target, "audio"));
  $("camera").addEventListener("click", (e) => toggle(e.target, "video"));
  $("leave").addEventListener("click", () => {
    left = true;
    send({ type: "leave" });
    if (pc) pc.close();
    if (ws) ws.close();
    stream.getTracks().forEach((t) => t.stop());
    clearInterval(pinger);
    const done = $("left");
    if (done) done.hidden = false;
    status(texts.waiting, false);
  });

  // --- the doctor's panels ------------------------------------------------------------------------------------
  const SECTIONS = ["subjective", "objective", "assessment", "plan"];
  let draftSources = {}, draftByText = {}, edited = false, note = null, tests = [];

  function addLine(line) {
    const li = document.createElement("li");
    li.id = `line-${line.id}`;
    li.dataset.speaker = line.speaker;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${texts[line.speaker]} (${Math.floor(line.started_at / 60)}:${String(Math.floor(line.started_at % 60)).padStart(2, "0")})`;
    li.append(who, document.createTextNode(line.text));
    $("transcript").append(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function showDraft(draft) {
    tests = draft.tests || [];
    $("tests").hidden = !tests.length;
    $("tests-list").textContent = tests.map((t) => t.name).join(", ");
    if (edited || (note && note.status === "signed")) return;  // never overwrite the doctor's own edits
    for (const key of SECTIONS) {
      // A part's heading ("History of present illness:") is a line of its own, citing nothing.
      const sentences = [];
      let part = "";
      for (const s of draft[key] || []) {
        if (s.part && s.part !== part) sentences.push({ text: `${s.part}:`, sources: [] });
        part = s.part || "";
        sentences.push(s);
      }
      $(`soap-${key}`).value = sentences.map((s) => s.text).join("\n");
      draftSources[key] = sentences.map((s) => s.sources);
      draftByText[key] = new Map(sentences.map((s) => [s.text, s.sources]));
      $(`sources-${key}`).textContent = sentences.map((s, i) => s.sources.length ? `${i + 1}: #${s.sources.join(", #")}` : "").filter(Boolean).join(" · ");
    }
  }

  function showLabs(results) {
    const rows = $("labs").tBodies[0];
    rows.replaceChildren();
    $("no-labs").hidden = results.length > 0;
    for (const r of results) {
      const tr = rows.insertRow();
      for (const text of [r.test, `${r.value} ${r.unit}`.trim(), r.flag || "", r.reference_range || "", r.reported_on]) {
        tr.insertCell().textContent = text;
      }
      if (r.flag) tr.className = "flagged";
    }
  }

  function body() {
    const out = { tests: tests.map((t) => ({ name: t.name, code: t.code })) };
    for (const key of SECTIONS) {
      const lines = $(`soap-${key}`).value.split("\n").map((l) => l.trim());
      // A line the doctor left as drafted keeps its sources wherever it now stands (a deleted heading or sentence
      // above it does not shift them); an edited line keeps those of the line drafted in its place.
      const byText = draftByText[key] || new Map();
      out[key] = lines.map((text, i) => ({ text, sources: byText.get(text) || (draftSources[key] || [])[i] || [] }))
        .filter((s) => s.text);
    }
    return out;
  }

  async function api(method, path, payload) {
    const response = await fetch(`/api/consults/${cfg.consult}${path}`, {
      method, headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || response.statusText);
    return data;
  }

  function showNote(n) {
    note = n;
    const signed = n && n.status === "signed";
    for (const key of SECTIONS) $(`soap-${key}`).readOnly = signed;
    $("save").hidden = signed;
    $("sign").hidden = signed;
    $("amend").hidden = !signed;
    $("note-status").hidden = !signed;
    if (signed) $("note-status").textContent = `${texts.signed} (v${n.version})`;
  }

  function fill(n) {
    for (const key of SECTIONS) {
      const sentences = n.body[key] || [];
      $(`soap-${key}`).value = sentences.map((s) => s.text).join("\n");
      draftSources[key] = sentences.map((s) => s.sources);
      draftByText[key] = new Map(sentences.map((s) => [s.text, s.sources]));
    }
  }

  if (doctor) {
    for (const key of SECTIONS) $(`soap-${key}`).addEventListener("input", () => { edited = true; });
    $("save").addEventListener("click", async () => {
      try { showNote((await api("PUT", "/note", { body: body() })).note); } catch (e) { problem(e.message); }
    });
    $("sign").addEventListener("click", async () => {
      try {
        const saved = (await api("PUT", "/note", { body: body() })).note;
        showNote((await api("POST", "/note/sign", { version: saved.version })).note);
      } catch (e) { problem(e.message); }
    });
    $("amend").addEventListener("click", async () => {
      try { const n = (await api("POST", "/note/amend", {})).note; fill(n); edited = true; showNote(n); } catch (e) { problem(e.message); }
    });
    $("book-tests").addEventListener("click", async () => {
      try {
        await api("POST", "/tests", { codes: tests.map((t) => t.code).filter(Boolean) });
        $("note-status").hidden = false;
        $("note-status").textContent = texts.sent;
      } catch (e) { problem(e.message); }
    });
    api("GET", "/note").then((data) => { if (data.note) { fill(data.note); edited = true; showNote(data.note); } }).catch(() => {});
  }

  media().then(() => {
    connect();
    pinger = setInterval(() => send({ type: "ping" }), 5000);
  }).catch(() => {});
})();
