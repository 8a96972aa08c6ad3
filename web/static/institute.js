/* The supervisors' view of the institute: every room — idle, a hearing in progress (case, phase,
   since when), stopped, or its node down — with links to the live stream and the console of the node
   that serves it. Everything comes from GET /api/institute; refreshed every 5 s. */
"use strict";
(() => {
  const { api, $, el, showError } = Court;
  const BADGE = { hearing: "ok", idle: "", stopped: "warn", down: "bad" };

  function hearingCells(room, h) {
    const state = h.interrupted ? `${h.state_label}（已中断，等待恢复）` : h.state_label;
    const links = el("span", {},
      el("a", { href: h.watch, "data-testid": "watch" }, "观看"), "　",
      el("a", { href: h.console, "data-testid": "console" }, "控制台"));
    return [
      el("td", {}, `${h.case_number}　${h.cause}`),
      el("td", {}, h.phase_label ? `${state} · ${h.phase_label}` : state),
      el("td", {}, h.since),
      el("td", {}, links),
    ];
  }

  function render(data) {
    $("#now").textContent = `北京时间 ${data.now}`;
    const body = $("#rooms tbody");
    body.textContent = "";
    $("#empty").classList.toggle("hidden", data.rooms.length > 0);
    for (const room of data.rooms) {
      const status = el("span", { class: `badge ${BADGE[room.status] || ""}`, "data-status": room.status },
        room.status_label);
      const name = el("td", {}, room.room, data.here === room.room ? el("span", { class: "muted small" }, "（本机）") : "");
      if (!room.hearings.length) {
        const note = room.status === "down" ? `最后心跳 ${room.heartbeat || "—"}` : "";
        body.append(el("tr", { "data-room": room.room }, name, el("td", {}, status),
          el("td", { class: "muted" }, note), el("td", {}), el("td", {}), el("td", {})));
        continue;
      }
      for (const h of room.hearings) {
        body.append(el("tr", { "data-room": room.room, "data-hearing": h.hearing_id },
          name.cloneNode(true), el("td", {}, status.cloneNode(true)), ...hearingCells(room, h)));
      }
    }
  }

  async function refresh() {
    try {
      render(await api("GET", "/api/institute"));
      showError("#error", null);
    } catch (e) {
      if (e.status === 401) { location.href = "/login"; return; }
      showError("#error", e);
    }
  }

  refresh();
  setInterval(refresh, 5000);
})();
