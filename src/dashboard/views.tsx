import type { Child } from "hono/jsx";
import type { TargetHealthRow } from "../routing/breaker/health";
import type { RecentCall, SpendGroup } from "../spend/query";
import { CacheTable } from "./cache-view";
import { type Dashboard, type KeyName, PERIODS, type Period, type View } from "./data";
import { int, pct, usd } from "./format";
import { HealthTable } from "./health-view";

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#14171f;--muted:#5b6475;--line:#e3e6eb;--accent:#2f6fed;--bad:#c2362b;--ok:#1f8a4c}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:16px;padding:14px 24px;background:var(--card);border-bottom:1px solid var(--line)}
header h1{font-size:17px;margin:0;font-weight:650}header .sub{color:var(--muted)}header form{margin-left:auto}
main{max-width:1180px;margin:0 auto;padding:20px 24px 48px}
.periods{display:flex;gap:6px;flex-wrap:wrap;margin-bottom:14px}
.periods a{padding:6px 12px;border:1px solid var(--line);border-radius:999px;background:var(--card);color:var(--ink);text-decoration:none}
.periods a[aria-current=page]{background:var(--accent);border-color:var(--accent);color:#fff}
.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin-bottom:18px}
.filters label{display:flex;flex-direction:column;gap:3px;font-size:12px;color:var(--muted)}
input,select,button{font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--ink)}
button{cursor:pointer}button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-bottom:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:650;margin-top:4px;font-variant-numeric:tabular-nums}
.card .note{color:var(--muted);font-size:12px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:18px;overflow-x:auto}
section h2{font-size:14px;margin:0 0 10px}
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}.grid3 section{margin:0}
.grid3 td:first-child{white-space:normal;word-break:break-word}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
[data-testid=recent] td,[data-testid=recent] th{padding:5px 7px;font-size:13px}
th{color:var(--muted);font-weight:500;font-size:12px}td.n,th.n{text-align:right}
.err{color:var(--bad)}.muted{color:var(--muted)}.unpriced{color:var(--muted);font-style:italic}
.bar{fill:var(--accent)}.axis{stroke:var(--line)}svg text{fill:var(--muted);font-size:11px}
.alert{background:#fdecea;border:1px solid #f5c6c0;color:var(--bad);padding:10px 14px;border-radius:8px;margin-bottom:14px}
.signin{max-width:380px;margin:12vh auto;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:28px}
.signin h1{font-size:20px;margin:0 0 6px}.signin p{color:var(--muted);margin:0 0 18px}
.signin input{width:100%;margin-bottom:12px}.signin button{width:100%}
@media (max-width:640px){main{padding:14px}header{padding:12px 14px}.card .value{font-size:20px}}
`;

/** The page shell: inline CSS (the CSP allows nothing external), no script. */
export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>{props.children}</body>
    </html>
  );
}

export function SignIn(props: { error?: string }) {
  return (
    <Layout title="Sign in · Sluice">
      <form class="signin" method="post" action="/dashboard/login">
        <h1>Sluice dashboard</h1>
        <p>Sign in with the gateway's admin token.</p>
        {props.error ? (
          <div class="alert" role="alert">
            {props.error}
          </div>
        ) : null}
        <input
          type="password"
          name="token"
          autocomplete="current-password"
          placeholder="Admin token"
          aria-label="Admin token"
          required
        />
        <button class="primary" type="submit">
          Sign in
        </button>
      </form>
    </Layout>
  );
}

function Card(props: {
  label: string;
  value: string;
  note?: string;
  testid: string;
  data?: Record<string, string>;
}) {
  const data = Object.fromEntries(Object.entries(props.data ?? {}).map(([k, v]) => [`data-${k}`, v]));
  return (
    <div class="card" data-testid={props.testid} {...data}>
      <div class="label">{props.label}</div>
      <div class="value">{props.value}</div>
      {props.note ? <div class="note">{props.note}</div> : null}
    </div>
  );
}

/** Spend per bucket as SVG bars, each with a tooltip (`<title>`); no script. */
function Chart(props: { series: Dashboard["series"]; bucket: View["bucket"] }) {
  const W = 1000;
  const H = 180;
  const PAD = 26;
  const values = props.series.map((s) => Number(s.sums?.costPicoUsd ?? 0n));
  const max = Math.max(0, ...values);
  const step = (W - PAD) / Math.max(1, values.length);
  const every = Math.ceil(values.length / 8);
  const short = (label: string) => (props.bucket === "hour" ? `${label.slice(11, 16)}` : label.slice(5));
  return (
    <svg
      viewBox={`0 0 ${W} ${H + 20}`}
      width="100%"
      role="img"
      aria-label={`Spend per ${props.bucket}`}
      data-testid="chart"
    >
      <line class="axis" x1={PAD} y1={H} x2={W} y2={H} />
      <text x={0} y={12}>
        {usd(max)}
      </text>
      {props.series.map((s, i) => {
        const v = values[i] ?? 0;
        const h = max === 0 ? 0 : Math.max(v > 0 ? 1 : 0, (v / max) * (H - 20));
        const x = PAD + i * step;
        return (
          <g>
            <rect class="bar" x={x + step * 0.12} y={H - h} width={step * 0.76} height={h} rx={2}>
              <title>{`${s.label}: ${usd(s.sums?.costPicoUsd ?? 0n)} · ${int(s.sums?.requests ?? 0)} requests`}</title>
            </rect>
            {i % every === 0 ? (
              <text x={x + step / 2} y={H + 15} text-anchor="middle">
                {short(s.label)}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
}

function Breakdown(props: {
  title: string;
  groups: SpendGroup[];
  name: (g: string | null) => Child;
  testid: string;
}) {
  const top = props.groups.slice(0, 10);
  const rest = props.groups.length - top.length;
  return (
    <section data-testid={props.testid}>
      <h2>{props.title}</h2>
      {top.length === 0 ? (
        <p class="muted">No calls in this period.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th class="n">Requests</th>
              <th class="n">Spend</th>
            </tr>
          </thead>
          <tbody>
            {top.map((g) => (
              <tr data-group={g.group ?? ""}>
                <td>{props.name(g.group)}</td>
                <td class="n">{int(g.requests)}</td>
                <td class="n">
                  {usd(g.costPicoUsd)}
                  {g.unpriced > 0 ? <div class="unpriced">+{int(g.unpriced)} unpriced</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rest > 0 ? <p class="muted">and {rest} more</p> : null}
    </section>
  );
}

function Recent(props: { calls: RecentCall[]; keyName: (id: string) => Child }) {
  return (
    <section data-testid="recent">
      <h2>Recent requests</h2>
      {props.calls.length === 0 ? (
        <p class="muted">No calls in this period.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Time (UTC)</th>
              <th>Key</th>
              <th>Model</th>
              <th>Provider</th>
              <th>Status</th>
              <th class="n">In</th>
              <th class="n">Out</th>
              <th class="n">Cost</th>
              <th class="n">Latency</th>
              <th>Cache</th>
            </tr>
          </thead>
          <tbody>
            {props.calls.map((r) => (
              <tr data-request-id={r.requestId}>
                <td>{new Date(r.ts).toISOString().slice(5, 19).replace("T", " ")}</td>
                <td>{props.keyName(r.keyId)}</td>
                <td>{r.model}</td>
                <td>{r.provider ?? "—"}</td>
                <td class={r.status >= 400 ? "err" : ""}>
                  {r.status}
                  {r.errorCode ? ` ${r.errorCode}` : ""}
                  {r.stream && !r.completed && r.status < 400 ? " (cut)" : ""}
                </td>
                <td class="n">{int(r.inputTokens)}</td>
                <td class="n">{int(r.outputTokens)}</td>
                <td class={r.costPicoUsd === null ? "n unpriced" : "n"}>{usd(r.costPicoUsd)}</td>
                <td class="n">{int(r.latencyMs)} ms</td>
                <td>{r.cache}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The dashboard URL for a view with some of its settings replaced. */
function hrefOf(v: View, change: Partial<{ period: Period }>): string {
  const p = new URLSearchParams({ period: change.period ?? v.period });
  for (const [k, val] of Object.entries(v.filters)) if (val) p.set(k, val);
  return `/dashboard?${p}`;
}

export function DashboardPage(props: { view: View; data: Dashboard; health: TargetHealthRow[] }) {
  const { view, data } = props;
  const t = data.total;
  const names = new Map<string, KeyName>(data.keys.map((k) => [k.id, k]));
  const keyName = (id: string | null) => {
    if (id === null) return "—";
    const k = names.get(id);
    return k ? <span title={`${k.prefix} · ${id}`}>{k.name}</span> : id;
  };
  const f = view.filters;
  return (
    <Layout title="Spend · Sluice">
      <header>
        <h1>Sluice</h1>
        <span class="sub">Spend dashboard</span>
        <form method="post" action="/dashboard/logout">
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main data-from={new Date(view.fromMs).toISOString()} data-to={new Date(view.toMs).toISOString()}>
        <nav class="periods" aria-label="Period">
          {(Object.keys(PERIODS) as Period[]).map((p) => (
            <a href={hrefOf(view, { period: p })} aria-current={p === view.period ? "page" : undefined}>
              {PERIODS[p]}
            </a>
          ))}
        </nav>
        <form class="filters" method="get" action="/dashboard" data-testid="filters">
          <input type="hidden" name="period" value={view.period} />
          <label>
            Key
            <select name="key">
              <option value="">All keys</option>
              {data.keys.map((k) => (
                <option value={k.id} selected={f.key === k.id}>
                  {k.name} ({k.prefix})
                </option>
              ))}
            </select>
          </label>
          <label>
            Team
            <input name="team" value={f.team ?? ""} placeholder="any" />
          </label>
          <label>
            Model
            <input name="model" value={f.model ?? ""} placeholder="any" />
          </label>
          <label>
            Provider
            <input name="provider" value={f.provider ?? ""} placeholder="any" />
          </label>
          <button class="primary" type="submit">
            Apply
          </button>
          <a href={`/dashboard?period=${view.period}`}>Clear</a>
        </form>
        <div class="cards">
          <Card
            testid="total-spend"
            label={`Spend · ${PERIODS[view.period]}`}
            value={usd(t.costPicoUsd)}
            note={t.unpriced > 0 ? `+ ${int(t.unpriced)} unpriced calls` : undefined}
            data={{ pusd: t.costPicoUsd.toString() }}
          />
          <Card
            testid="total-requests"
            label="Requests"
            value={int(t.requests)}
            data={{ count: String(t.requests) }}
          />
          <Card
            testid="total-tokens"
            label="Tokens"
            value={int(t.inputTokens + t.outputTokens)}
            note={`${int(t.inputTokens)} in · ${int(t.outputTokens)} out`}
            data={{ input: String(t.inputTokens), output: String(t.outputTokens) }}
          />
          <Card
            testid="error-rate"
            label="Error rate"
            value={pct(t.errors, t.requests)}
            note={`${int(t.errors)} failed`}
            data={{ errors: String(t.errors) }}
          />
          <Card
            testid="cache-savings"
            label="Cache savings"
            value={usd(t.savedPicoUsd)}
            data={{ pusd: t.savedPicoUsd.toString() }}
          />
        </div>
        <section>
          <h2>Spend per {view.bucket}</h2>
          <Chart series={data.series} bucket={view.bucket} />
        </section>
        <div class="grid3">
          <Breakdown title="By model" groups={data.byModel} name={(g) => g ?? "—"} testid="by-model" />
          <Breakdown title="By key" groups={data.byKey} name={keyName} testid="by-key" />
          <Breakdown title="By team" groups={data.byTeam} name={(g) => g ?? "no team"} testid="by-team" />
        </div>
        <div style="height:18px" />
        <CacheTable aliases={data.cache} />
        <div style="height:18px" />
        <HealthTable targets={props.health} />
        <div style="height:18px" />
        <Recent calls={data.recent} keyName={keyName} />
      </main>
    </Layout>
  );
}

export function ErrorPage(props: { message: string }) {
  return (
    <Layout title="Sluice dashboard">
      <main>
        <div class="alert" role="alert">
          {props.message}
        </div>
        <a href="/dashboard">Back to the dashboard</a>
      </main>
    </Layout>
  );
}
