import type { AliasOutcomes } from "../cache/admin";
import { int, pct, usd } from "./format";

/** The response cache per alias: hits (exact, semantic, shadow), misses, savings, the verified false-hit rate. */
export function CacheTable(props: { aliases: AliasOutcomes[] }) {
  return (
    <section data-testid="cache">
      <h2>Response cache</h2>
      {props.aliases.length === 0 ? (
        <p class="muted">No cached aliases were called in this period.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Alias</th>
              <th class="n">Hits</th>
              <th class="n">Semantic</th>
              <th class="n">Misses</th>
              <th class="n">Saved</th>
              <th class="n">Verified false hits</th>
            </tr>
          </thead>
          <tbody>
            {props.aliases.map((a) => (
              <tr data-alias={a.alias}>
                <td>{a.alias}</td>
                <td class="n">{int(a.hits)}</td>
                <td class="n">
                  {int(a.semanticHits)}
                  {a.shadowHits > 0 ? <div class="muted">{int(a.shadowHits)} in shadow</div> : null}
                </td>
                <td class="n">{int(a.misses)}</td>
                <td class="n">{usd(a.savedPicoUsd)}</td>
                <td class="n">
                  {a.falseHitRate === null
                    ? "—"
                    : `${pct(a.falseHits, a.verified + a.falseHits)} of ${int(a.verified + a.falseHits)}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
