/**
 * The looking glass's static assets, embedded as strings so that they are part of the program
 * (`deno compile` included) and nothing is fetched from elsewhere: the style sheet and the
 * chart script (a few lines of canvas drawing, no library).
 * @module
 */

/** `/assets/style.css`. */
export const STYLE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fbfbfc; --muted: #5b6470; --line: #d6dae0;
  --accent: #1f6feb; --bad: #b42318; --good: #137333; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #14171b; --muted: #9aa4af;
  --line: #2d333b; --accent: #58a6ff; --bad: #ff7b72; --good: #56d364; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header nav { display: inline; margin-left: 1.5rem; }
header nav a { margin-right: 1rem; color: var(--accent); text-decoration: none; }
header nav a[aria-current] { font-weight: 600; text-decoration: underline; }
main { padding: 0 1rem 2rem; max-width: 78rem; }
h1 { font-size: 1.35rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td { font-family: ui-monospace, monospace; font-size: 13px; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; font-family: ui-monospace, monospace; }
form { margin: .6rem 0; display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select { font: inherit; padding: .3rem .4rem; min-width: 12rem; }
button { font: inherit; padding: .35rem .9rem; }
.ok { color: var(--good); } .bad { color: var(--bad); } .muted, .empty { color: var(--muted); }
.counters { columns: 3 18rem; }
.counters div { display: flex; justify-content: space-between; border-bottom: 1px dotted var(--line);
  break-inside: avoid; font-family: ui-monospace, monospace; font-size: 13px; }
figure { margin: .5rem 0; }
#rate-chart { width: 100%; height: 220px; border: 1px solid var(--line); }
.legend span { margin-right: 1rem; } .in { color: var(--accent); } .out { color: var(--good); }
pre { background: rgba(127,127,127,.08); padding: .6rem; overflow: auto; font-size: 12px; }
ol.filters { list-style: none; padding-left: 0; }
.depth-1 { padding-left: 1.5rem; } .depth-2 { padding-left: 3rem; } .depth-3 { padding-left: 4.5rem; }
.depth-4 { padding-left: 6rem; } .depth-5 { padding-left: 7.5rem; } .depth-6 { padding-left: 9rem; }
`;

/**
 * `/assets/chart.js`: draws requests and replies per second from `/rates.json` on the canvas
 * `#rate-chart`, every five seconds. The page shows the same numbers as a table without it.
 */
export const CHART_JS = `"use strict";
(() => {
  const canvas = document.getElementById("rate-chart");
  if (!canvas || !canvas.getContext) return;
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  function draw(data) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const pad = { l: 44, r: 8, t: 10, b: 22 };
    const span = data.window, now = data.now;
    let max = 1;
    for (const p of data.points) max = Math.max(max, p.in, p.out);
    max = Math.ceil(max * 1.1);
    const x = (t) => pad.l + (w - pad.l - pad.r) * (1 - (now - t) / span);
    const y = (v) => h - pad.b - (h - pad.t - pad.b) * (v / max);
    g.strokeStyle = colour("--line", "#ccc"); g.fillStyle = colour("--muted", "#666");
    g.font = "11px system-ui, sans-serif"; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4, yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(pad.l, yy); g.lineTo(w - pad.r, yy); g.stroke();
      g.fillText(v.toFixed(v < 10 ? 1 : 0), 4, yy + 4);
    }
    for (let m = 0; m <= 15; m += 5) {
      g.fillText(m === 0 ? "now" : "-" + m + " min", x(now - m * 60000) - 14, h - 6);
    }
    const line = (key, stroke) => {
      g.strokeStyle = stroke; g.fillStyle = stroke; g.lineWidth = 2; g.beginPath();
      data.points.forEach((p, i) => i ? g.lineTo(x(p.t), y(p[key])) : g.moveTo(x(p.t), y(p[key])));
      g.stroke();
      for (const p of data.points) {
        g.beginPath(); g.arc(x(p.t), y(p[key]), 2.5, 0, 2 * Math.PI); g.fill();
      }
    };
    line("in", colour("--accent", "#1f6feb"));
    line("out", colour("--good", "#137333"));
    canvas.dataset.points = String(data.points.length);
    canvas.dataset.drawn = String(Date.now());
  }
  async function refresh() {
    try {
      const r = await fetch("/rates.json", { credentials: "same-origin", cache: "no-store" });
      if (r.ok) draw(await r.json());
    } catch (_) { /* the next round tries again */ }
  }
  refresh();
  setInterval(refresh, 5000);
})();
`;
