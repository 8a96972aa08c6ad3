"""The probes of ``bench_line_latency.py``: wrappers installed in its ``court serve`` before ``main``
that record wall times (``time.time()``) of the transcription pipeline's steps into a JSON-lines file,
and the init scripts of its two pages (the party's microphone tap, the console's line arrivals).
Each wrapper records and calls the original: the pipeline's behaviour is unchanged."""

from __future__ import annotations

import json
import time
from typing import Any

# -- the server's probe (runs inside `court serve`, installed before main) ----------------------------


def install_server_probe(path: str) -> None:
    """Wrap a few methods of the transcription pipeline to record wall times into ``path`` (JSON
    lines). Each wrapper records and calls the original: the pipeline's behaviour is unchanged."""
    import threading

    from court.core.events import EventType
    from court.core.timeline import Timeline
    from transcripts import stream
    from transcripts.vad import VadStream

    out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the process's life
    lock = threading.Lock()

    def write(record: dict[str, Any]) -> None:
        line = json.dumps(record)
        with lock:
            out.write(line + "\n")

    live = stream.LiveTranscriber
    feed, emit = live.feed, live._emit
    speculative, recognize = live._decode_speculative, live._recognize
    vad_feed, append = VadStream.feed, Timeline.append

    def p_feed(self: Any, source: str, samples: Any, rate: int, t: float) -> None:
        if source.startswith("remote-") and self.clock is not None:
            now = self.clock()
            write(
                {"k": "feed", "src": source, "wall": time.time(), "now": now, "end": t + len(samples) / rate}
            )
        feed(self, source, samples, rate, t)

    def p_vad(self: Any, *a: Any, **kw: Any) -> Any:
        segments = vad_feed(self, *a, **kw)
        if self.source.startswith("remote-"):
            for s in segments:
                write(
                    {
                        "k": "vad",
                        "src": s.source,
                        "wall": time.time(),
                        "start": s.start,
                        "end": s.end,
                        "final": s.final,
                    }
                )
        return segments

    def p_spec(self: Any, job: Any) -> None:
        began = time.time()
        try:
            speculative(self, job)
        finally:
            s = job.segment
            write(
                {
                    "k": "decode",
                    "src": s.source,
                    "start": s.start,
                    "end": s.end,
                    "began": began,
                    "done": time.time(),
                    "spec": True,
                    "cancelled": bool(job.cancelled),
                }
            )

    def p_rec(self: Any, segment: Any, speaker: Any) -> None:
        began = time.time()
        try:
            recognize(self, segment, speaker)
        finally:
            write(
                {
                    "k": "decode",
                    "src": segment.source,
                    "start": segment.start,
                    "end": segment.end,
                    "began": began,
                    "done": time.time(),
                    "spec": False,
                    "cancelled": False,
                }
            )

    def p_emit(self: Any, segment: Any, result: Any, speaker: Any) -> None:
        write(
            {
                "k": "emit",
                "src": segment.source,
                "start": segment.start,
                "end": segment.end,
                "wall": time.time(),
            }
        )
        emit(self, segment, result, speaker)

    def p_append(self: Any, event_type: Any, payload: Any = None, **kw: Any) -> Any:
        event = append(self, event_type, payload, **kw)
        if event_type == EventType.UTTERANCE:
            body = dict(payload or {})
            write(
                {
                    "k": "commit",
                    "seq": event.seq,
                    "src": body.get("source"),
                    "start": body.get("start"),
                    "end": body.get("end"),
                    "text": body.get("text"),
                    "wall": time.time(),
                }
            )
        return event

    # setattr: the wrappers replace the methods on the classes for the whole process.
    for cls, name, wrapper in (
        (live, "feed", p_feed),
        (live, "_emit", p_emit),
        (live, "_decode_speculative", p_spec),
        (live, "_recognize", p_rec),
        (VadStream, "feed", p_vad),
        (Timeline, "append", p_append),
    ):
        setattr(cls, name, wrapper)


# -- the pages' probes ----------------------------------------------------------------------------------

PARTY_PROBE = """
(() => {
  const T = (window.__tap = { blocks: [], marks: {}, rate: 0, err: null });
  const N = 1024;
  function tap(stream) {
    try {
      if (T.ctx || !stream.getAudioTracks().length) return;
      const ctx = (T.ctx = new AudioContext());
      T.rate = ctx.sampleRate;
      const src = ctx.createMediaStreamSource(stream);
      const sp = ctx.createScriptProcessor(N, 1, 1);
      T.keep = [src, sp];
      const sub = N / 4;
      sp.onaudioprocess = (e) => {
        const x = e.inputBuffer.getChannelData(0);
        const ts = ctx.getOutputTimestamp();
        // The input block ends one buffer before the output block it is processed for plays.
        const endCtx = e.playbackTime - N / ctx.sampleRate;
        const audio = ts.performanceTime > 0
          ? performance.timeOrigin + ts.performanceTime + (endCtx - ts.contextTime) * 1000 : null;
        const rms = [];
        for (let i = 0; i < N; i += sub) {
          let s = 0;
          for (let j = i; j < i + sub; j++) s += x[j] * x[j];
          rms.push(Math.sqrt(s / sub));
        }
        T.blocks.push([audio, Date.now(), rms]);
      };
      src.connect(sp);
      sp.connect(ctx.destination);
      ctx.resume();
    } catch (e) { T.err = String(e); }
  }
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => { const s = await gum(c); tap(s); return s; };
  }
  const RealPC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends RealPC {
    constructor(...a) {
      super(...a);
      this.addEventListener("connectionstatechange", () => {
        if (this.connectionState === "connected" && !T.marks.connected) T.marks.connected = Date.now();
      });
    }
  };
})();
"""

CONSOLE_PROBE = """
(() => {
  const B = (window.__lines = { dom: {}, sse: {} });
  const RealES = window.EventSource;
  window.EventSource = class extends RealES {
    constructor(...a) {
      super(...a);
      this.addEventListener("timeline", (m) => {
        try {
          const e = JSON.parse(m.data);
          if (e.type === "utterance" && !(e.seq in B.sse)) B.sse[e.seq] = { t: Date.now(), wall: e.wall };
        } catch (x) { /* not ours */ }
      });
    }
  };
  new MutationObserver((changes) => {
    const t = Date.now();
    for (const c of changes) for (const n of c.addedNodes) {
      if (n.nodeType !== 1 || !n.classList.contains("line")) continue;
      const id = n.getAttribute("data-id");
      if (id && !(id in B.dom)) {
        const text = n.querySelector(".text");
        B.dom[id] = { t, role: n.getAttribute("data-role"), text: text ? text.textContent : "" };
      }
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""
