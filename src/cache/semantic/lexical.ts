import {
  contentWords,
  IS_CONTRACTED,
  isLink,
  isStopWord,
  plainPunctuation,
  questionTokens,
  stem,
  unitOf,
} from "./normalize";

/**
 * The lexical check a semantic match must pass besides its similarity: what an embedding is known to blur.
 * Each check is precise rather than complete: it speaks only when both questions say something comparable, so
 * paraphrases (case, punctuation, stop words, contractions, synonyms, word order of non-entities) agree.
 */

/** Suffixes a number may carry besides a unit: ordinals (16th) and thousands (300k). */
const SUFFIXES = new Map([
  ["st", "ord"],
  ["nd", "ord"],
  ["rd", "ord"],
  ["th", "ord"],
  ["k", "k"],
  ["%", "%"],
]);

const OPERATORS: Record<string, string> = {
  plus: "+",
  minus: "-",
  times: "*",
  x: "*",
  "×": "*",
  "multiplied by": "*",
  "divided by": "/",
  "÷": "/",
  over: "/",
  mod: "%",
  modulo: "%",
  "to the power of": "^",
};
const OPERATOR =
  /(\d)\s*(\+|-|\*|×|x|\/|÷|\^|=|<|>|plus|minus|times|multiplied by|divided by|over|modulo|mod|to the power of)\s*(?=-?[$€£¥]?\d)/g;

const NEGATIONS = new Set(
  (
    "not no never without cannot none nobody nothing neither nor nowhere noone " +
    "pas jamais rien aucun aucune ni sans " +
    "nunca nada nadie ningún ninguno ninguna sin jamás tampoco " +
    "nicht kein keine keinen keinem keiner keines nie niemals nichts niemand ohne weder"
  ).split(" "),
);
/** French "ne" counts only when no second particle carries the negation. */
const FRENCH_PARTICLES = new Set("pas jamais rien aucun aucune personne plus guère que nul nulle".split(" "));

const FUNCTION_WORDS: Record<string, string> = {
  en: "the is are was were what how why when where who which does do did you your my i it this that of and to for with can should there not",
  fr: "le la les est et des du une que qui quoi quel quelle quels quelles comment pourquoi où je tu vous nous il elle pas ne sont dans pour avec sur ce cette c l d qu n j au aux mon ma mes à",
  es: "el los las es y del una que qué cómo cuál cuáles dónde por porque para está están son mi yo usted hay lo al muy cuánto cuántos cuándo quién la",
  de: "der die das ist und wie wer wo warum nicht ein eine einen ich du mit für von auf den dem sind kann kein keine gibt viele viel es",
};
const LANGUAGE_OF = new Map<string, string[]>();
for (const [lang, words] of Object.entries(FUNCTION_WORDS)) {
  for (const w of words.split(" ")) LANGUAGE_OF.set(w, [...(LANGUAGE_OF.get(w) ?? []), lang]);
}

/** Question words that change the answer, across the languages above. */
const WH = new Map(
  Object.entries({
    who: "who",
    whom: "who",
    whose: "who",
    when: "when",
    where: "where",
    why: "why",
    qui: "who",
    quand: "when",
    où: "where",
    pourquoi: "why",
    quién: "who",
    cuándo: "when",
    dónde: "where",
    wer: "who",
    wann: "when",
    wo: "where",
    warum: "why",
  }),
);

/** Words whose opposite in the other question makes it another question (stemmed when compared). */
const OPPOSITES = (
  "before/after more/less most/least max/min maximum/minimum increase/decrease best/worst better/worse " +
  "buy/sell add/remove enable/disable encrypt/decrypt import/export upload/download push/pull open/close " +
  "start/stop hot/cold high/low first/last above/below inside/outside true/false win/lose cheap/expensive " +
  "fast/slow big/small large/small old/new old/young north/south east/west long/short early/late " +
  "positive/negative always/never same/different male/female men/women man/woman day/night " +
  "morning/evening summer/winter light/dark wet/dry input/output client/server send/receive lend/borrow " +
  "love/hate include/exclude accept/reject pass/fail success/failure ascending/descending forward/backward " +
  "gain/lose gain/loss pros/cons arrival/departure arrive/depart enter/exit entry/exit inbound/outbound " +
  "easy/hard cheapest/priciest hello/goodbye turn_on/turn_off switch_on/switch_off log_in/log_out sign_in/sign_out"
)
  .split(" ")
  .map((p) => p.split("/").map((w) => w.split("_").map(stem).join(" ")) as [string, string]);
const NEGATING_PREFIXES = ["un", "in", "im", "il", "ir", "dis", "non", "de", "anti"];

/** Directional words and the role they give the word after them ("from Paris to Rome"). */
const ROLES = new Map(
  Object.entries({
    from: "from",
    to: "to",
    into: "to",
    onto: "to",
    toward: "to",
    towards: "to",
    than: "than",
    before: "before",
    after: "after",
    of: "of",
    vs: "vs",
    versus: "vs",
    against: "vs",
  }),
);

interface Features {
  /** Lower-cased normalized tokens, stemmed. */
  stems: string[];
  stemSet: Set<string>;
  links: string[];
  code: string[][];
  quoted: string[][];
  identifiers: string[][];
  numbers: string[];
  operators: string[];
  negations: number;
  language: string | null;
  wh: Set<string>;
  entities: Set<string>;
  roles: Map<string, Set<string>>;
  payload: Set<string> | null;
}

const lowerStems = (text: string): string[] => questionTokens(text).map((t) => stem(t.toLowerCase()));

/** Every match of `re`'s first group in `text`, as stemmed tokens; the matches are cut out of `text`. */
function cut(state: { text: string }, re: RegExp, group = 1): string[][] {
  const found: string[][] = [];
  state.text = state.text.replace(re, (...m: string[]) => {
    const tokens = lowerStems(m[group] ?? "");
    if (tokens.length > 0) found.push(tokens);
    return " ";
  });
  return found;
}

/** Numbers with their units (`5 km`, `1 ord`, `15 %`), in order, from lower-cased normalized tokens. */
function numbersOf(tokens: string[]): string[] {
  const out: string[] = [];
  tokens.forEach((tok, i) => {
    for (const m of tok.matchAll(/(-?)(\d+(?:\.\d+)*)/g)) {
      const at = m.index ?? 0;
      const sign = m[1] && at === 0 ? "-" : "";
      const rest = tok.slice(at + m[0].length);
      let unit = SUFFIXES.get(rest) ?? (rest === "" ? undefined : unitOf(rest));
      if (rest === "" && i + 1 < tokens.length) unit = unitOf(tokens[i + 1] ?? "");
      out.push(unit ? `${sign}${m[2]} ${unit}` : `${sign}${m[2]}`);
    }
  });
  return out;
}

/** The question's language: the most function words, or a guess from its letters, or null when unsure. */
function languageOf(tokens: string[], text: string): string | null {
  const letters = text.match(/\p{L}/gu) ?? [];
  const scripts = new Map<string, number>();
  for (const ch of letters) {
    const s = /\p{Script=Latin}/u.test(ch)
      ? "latin"
      : /\p{Script=Cyrillic}/u.test(ch)
        ? "cyrillic"
        : /\p{Script=Greek}/u.test(ch)
          ? "greek"
          : /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(ch)
            ? "cjk"
            : /\p{Script=Hangul}/u.test(ch)
              ? "hangul"
              : /\p{Script=Arabic}/u.test(ch)
                ? "arabic"
                : "other";
    scripts.set(s, (scripts.get(s) ?? 0) + 1);
  }
  const script = [...scripts].sort((x, y) => y[1] - x[1])[0]?.[0];
  if (script && script !== "latin") return script;
  const score = new Map<string, number>();
  for (const t of tokens)
    for (const lang of LANGUAGE_OF.get(t) ?? []) score.set(lang, (score.get(lang) ?? 0) + 1);
  const [first, second] = [...score].sort((x, y) => y[1] - x[1]);
  if (first && (!second || first[1] > second[1])) return first[0];
  if (first) return null;
  if (/[ñ¿¡]/u.test(text)) return "es";
  if (/[ßäöü]/u.test(text)) return "de";
  if (/[àâçèêëîïôûùœ]/u.test(text)) return "fr";
  return letters.length > 0 && letters.every((ch) => ch < "\u0080") ? "en" : null;
}

/** Everything the checks compare, read once per question. */
function features(raw: string): Features {
  const state = { text: plainPunctuation(raw.normalize("NFKC")) };
  const code = cut(state, /```[\w-]*\n?([\s\S]*?)```/g);
  const identifiers = cut(state, /`([^`\n]+)`/g);
  const quoted = [
    ...cut(state, /"([^"\n]+)"/g),
    ...cut(state, /«([^»\n]+)»/g),
    ...cut(state, /(?<![\p{L}\p{N}])'([^'\n]+?)'(?![\p{L}\p{N}])/gu),
  ];
  const text = state.text.replace(/(?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/gi, " ");
  for (const re of [
    /\b[a-z]+[A-Z][A-Za-z0-9]*\b/g, // camelCase, iPhone
    /\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b/g, // JavaScript, GitHub
    /\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b/g, // snake_case
    /\b[A-Za-z_$][\w$]{1,}(?:\.[A-Za-z_$][\w$]{1,})+/g, // dotted.names (not e.g., U.S.)
    /(?<!\S)--?[a-zA-Z][\w-]*/g, // --flags
  ]) {
    for (const m of text.matchAll(re)) identifiers.push(lowerStems(m[0]));
  }

  const cased = questionTokens(raw);
  const lower = cased.map((t) => t.toLowerCase());
  const stems = lower.map(stem);
  const joined = lower.join(" ");
  const links = lower
    .filter(isLink)
    .map((l) => l.replace(/\/+$/, ""))
    .sort();

  let negations = lower.filter((t) => NEGATIONS.has(t)).length;
  if (lower.some((t) => t === "ne" || t === "n") && !lower.some((t) => FRENCH_PARTICLES.has(t))) negations++;

  // Capitalized words not opening a sentence are entities, unless the whole text is capitalized or shouted.
  const entities = new Set<string>();
  const inner = cased.slice(1).filter((t) => /\p{L}/u.test(t));
  const capitalized = inner.filter((t) => /^\p{Lu}/u.test(t)).length;
  if (inner.length < 2 || capitalized / inner.length < 0.75) {
    for (const sentence of state.text.split(/[.!?:;\n]\s+|\n/)) {
      questionTokens(sentence).forEach((t, i) => {
        const l = t.toLowerCase();
        const acronym = /^\p{Lu}{2,}$/u.test(t);
        if (!/^\p{Lu}/u.test(t) || (i === 0 && !acronym) || isStopWord(l) || NEGATIONS.has(l) || WH.has(l))
          return;
        entities.add(stem(l));
      });
    }
  }

  const roles = new Map<string, Set<string>>();
  lower.forEach((t, i) => {
    const role = ROLES.get(t);
    if (!role) return;
    let j = i + 1;
    while (j < lower.length && j <= i + 3 && (isStopWord(lower[j] ?? "") || ROLES.has(lower[j] ?? ""))) j++;
    const filler = stems[j];
    if (filler === undefined || j > i + 3) return;
    roles.set(role, (roles.get(role) ?? new Set()).add(filler));
  });
  // "Japan's GDP" names Japan in the role "the GDP of Japan" does.
  for (const m of state.text.matchAll(/(\p{L}+)'s\b/gu)) {
    const w = (m[1] ?? "").toLowerCase();
    if (!isStopWord(w) && !IS_CONTRACTED.has(w) && !NEGATIONS.has(w))
      roles.set("of", (roles.get("of") ?? new Set()).add(stem(`${w}s`)));
  }

  // "Summarize this email: <payload>": a template of two or more content words, then what it is applied to.
  let payload: Set<string> | null = null;
  const colon = raw.match(/^([^:\n]+):\s+([\s\S]+)$/);
  if (colon && contentWords(colon[1] ?? "").length >= 2) payload = new Set(contentWords(colon[2] ?? ""));

  return {
    stems,
    // Words, and neighbour pairs for the two-word opposites ("turn on" / "turn off").
    stemSet: new Set([...stems, ...stems.slice(1).map((t, i) => `${stems[i]} ${t}`)]),
    links,
    code,
    quoted,
    identifiers,
    numbers: numbersOf(lower),
    operators: [...joined.matchAll(OPERATOR)].map((m) => OPERATORS[m[2] ?? ""] ?? m[2] ?? ""),
    negations,
    language: languageOf(
      questionTokens(state.text).map((t) => t.toLowerCase()),
      state.text,
    ),
    wh: new Set(lower.map((t) => WH.get(t)).filter((w) => w !== undefined)),
    entities,
    roles,
    payload,
  };
}

/** True when `needle` occurs in `hay` as consecutive tokens. */
function occurs(needle: string[], hay: string[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return true;
  }
  return false;
}

/** Each side's spans (quotes, code, identifiers) appear in the other's text, quoted or not. */
const spansAgree = (x: string[][], y: Features, z: string[][], w: Features): boolean =>
  x.every((s) => occurs(s, w.stems)) && z.every((s) => occurs(s, y.stems));

const sameList = (x: string[], y: string[]): boolean =>
  x.length === y.length && x.every((v, i) => v === y[i]);
const sorted = (x: string[]): string[] => [...x].sort();
const sameSet = (x: Set<string>, y: Set<string>): boolean =>
  x.size === y.size && [...x].every((v) => y.has(v));

/** A word of one question whose negated form (unsafe, illegal, uninstall) is in the other instead. */
function prefixNegation(x: Features, y: Features): boolean {
  for (const t of x.stemSet) {
    if (!/^\p{L}{5,}$/u.test(t) || y.stemSet.has(t)) continue;
    for (const p of NEGATING_PREFIXES) {
      const rest = t.slice(p.length);
      if (t.startsWith(p) && rest.length >= 3 && y.stemSet.has(rest) && !x.stemSet.has(rest)) return true;
    }
  }
  return false;
}

/** The same words fill different roles: "from Paris to Rome" / "from Rome to Paris", "X than Y" / "Y than X". */
function rolesSwapped(x: Features, y: Features): boolean {
  for (const [role, xs] of x.roles) {
    const ys = y.roles.get(role);
    if (!ys || sameSet(xs, ys)) continue;
    const onlyX = [...xs].filter((v) => !ys.has(v));
    const onlyY = [...ys].filter((v) => !xs.has(v));
    if (onlyX.every((v) => y.stemSet.has(v)) && onlyY.every((v) => x.stemSet.has(v))) return true;
  }
  return false;
}

/** The role a word fills in a question ("to" for Rome in "from Paris to Rome"), if any. */
function roleOf(f: Features, word: string): string | undefined {
  for (const [role, words] of f.roles) if (words.has(word)) return role;
  return undefined;
}

/**
 * Entities both questions name in another order ("Does Alice owe Bob" / "Does Bob owe Alice"), unless their
 * roles explain it ("to Rome from Paris" / "from Paris to Rome").
 */
function entityOrderDiffers(x: Features, y: Features): boolean {
  const marked = new Set([...x.entities, ...y.entities]);
  const seq = (f: Features) => [...new Set(f.stems.filter((t) => marked.has(t)))];
  const ex = seq(x);
  const ey = seq(y);
  if (ex.length >= 2 && sameList(sorted(ex), sorted(ey)) && !sameList(ex, ey)) {
    const explained = ex.every((e) => roleOf(x, e) === roleOf(y, e)) && ex.some((e) => roleOf(x, e));
    if (!explained) return true;
  }
  return false;
}

/**
 * Null when questions `a` and `b` (raw text, or one of them normalized) agree on everything their vectors cannot
 * be trusted with; otherwise a short reason ("numbers differ", "negation differs", …).
 */
export function lexicalMismatch(a: string, b: string): string | null {
  const x = features(a);
  const y = features(b);
  if (!sameList(x.links, y.links)) return "urls differ";
  if (!spansAgree(x.code, x, y.code, y)) return "code differs";
  if (!spansAgree(x.quoted, x, y.quoted, y)) return "quoted text differs";
  if (!spansAgree(x.identifiers, x, y.identifiers, y)) return "identifiers differ";
  if (!sameList(sorted(x.numbers), sorted(y.numbers))) {
    const values = (f: Features) => sorted(f.numbers.map((n) => n.split(" ")[0] ?? ""));
    return sameList(values(x), values(y)) ? "units differ" : "numbers differ";
  }
  if (!sameList(x.numbers, y.numbers)) return "number order differs";
  if (!sameList(x.operators, y.operators)) return "operators differ";
  if (x.negations !== y.negations || prefixNegation(x, y) || prefixNegation(y, x)) return "negation differs";
  if (x.language && y.language && x.language !== y.language) return "language differs";
  if (x.wh.size > 0 && y.wh.size > 0 && !sameSet(x.wh, y.wh)) return "question word differs";
  for (const [p, q] of OPPOSITES) {
    const has = (f: Features, w: string) => f.stemSet.has(w);
    if (
      (has(x, p) && !has(x, q) && has(y, q) && !has(y, p)) ||
      (has(x, q) && !has(x, p) && has(y, p) && !has(y, q))
    )
      return "opposite words differ";
  }
  if ([...x.entities].some((e) => !y.stemSet.has(e)) || [...y.entities].some((e) => !x.stemSet.has(e)))
    return "entities differ";
  if (rolesSwapped(x, y) || entityOrderDiffers(x, y)) return "entity order differs";
  if (x.payload && y.payload && !sameSet(x.payload, y.payload)) return "payload differs";
  return null;
}
