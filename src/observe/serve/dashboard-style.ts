/** The dashboard's stylesheet: plain, readable, light and dark. */
export const DASHBOARD_STYLE = `
:root { --fg: #1d2430; --muted: #667085; --bg: #f6f7f9; --card: #fff; --line: #e3e6ea; --ok: #1a7f37; --bad: #c62828; --accent: #2f6fde; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #98a2b3; --bg: #14171c; --card: #1d2128; --line: #2c323b; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 12px; align-items: baseline; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 6px; }
main { padding: 16px 20px; display: grid; gap: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
section.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
section.two { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.big { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.sub, .muted { color: var(--muted); font-size: 12px; }
.badge { padding: 2px 8px; border-radius: 10px; background: var(--accent); color: #fff; font-size: 12px; }
.badge.bad { background: var(--bad); } .badge.ok { background: var(--ok); }
.bar { height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; margin: 6px 0; }
.bar > div { height: 100%; width: 0; background: var(--accent); }
table { width: 100%; border-collapse: collapse; margin-top: 8px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
.num { text-align: right; }
#lag-chart { width: 100%; height: 160px; background: var(--bg); border-radius: 4px; }
.legend span { margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
ul { margin: 0; padding-left: 18px; max-height: 220px; overflow: auto; }
li.error { color: var(--bad); }
button { font: inherit; padding: 3px 10px; border-radius: 5px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
dialog { border: 1px solid var(--line); border-radius: 8px; background: var(--card); color: var(--fg); max-width: 420px; }
dialog .buttons { display: flex; gap: 8px; justify-content: flex-end; }
`;
