import type { TargetHealthRow } from "../routing/breaker/health";
import { int } from "./format";

const rate = (r: number | null | undefined) => (r == null ? "—" : `${(r * 100).toFixed(1)}%`);

/** The targets' health: breaker state (forced or not), failures in the window, latency and error rate. */
export function HealthTable(props: { targets: TargetHealthRow[] }) {
  return (
    <section data-testid="health">
      <h2>Target health</h2>
      {props.targets.length === 0 ? (
        <p class="muted">No target has failed or been called here yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Target</th>
              <th>Breaker</th>
              <th class="n">Failures</th>
              <th>Opened</th>
              <th class="n">Latency</th>
              <th class="n">Error rate</th>
            </tr>
          </thead>
          <tbody>
            {props.targets.map((t) => (
              <tr data-target={t.id} data-state={t.state}>
                <td>{t.id}</td>
                <td>
                  {t.state}
                  {t.forced ? <span class="muted"> (by hand)</span> : null}
                </td>
                <td class="n">{int(t.failures)}</td>
                <td>{t.openedAt ? t.openedAt.slice(0, 19).replace("T", " ") : "—"}</td>
                <td class="n">{t.latencyMs == null ? "—" : `${int(Math.round(t.latencyMs))} ms`}</td>
                <td class="n">{rate(t.errorRate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
