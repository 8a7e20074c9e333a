/**
 * The question text the semantic tier embeds and compares: one spelling for what a reader would call the same
 * question (case, width, spacing, contractions, decorative punctuation, number words), and nothing dropped that
 * can change the answer (digits, decimal points, operators, currency signs, URLs, e-mails, code identifiers, the
 * words inside quotes). Pure and deterministic; `normalizeQuestion(normalizeQuestion(x)) === normalizeQuestion(x)`.
 */

/** Words whose 's is "is", not a possessive ("what's", "it's"). */
export const IS_CONTRACTED: ReadonlySet<string> = new Set(
  "it that what where who how when why there here he she this everything nothing something someone everyone everybody nobody".split(
    " ",
  ),
);

/** English contractions, longest first; applied case-insensitively to text whose apostrophes are ASCII. */
const CONTRACTIONS: [RegExp, string][] = [
  [/\bwon't\b/gi, "will not"],
  [/\bcan't\b/gi, "cannot"],
  [/\bshan't\b/gi, "shall not"],
  [/\bain't\b/gi, "is not"],
  [/\blet's\b/gi, "let us"],
  [/\by'all\b/gi, "you all"],
  [/\bgonna\b/gi, "going to"],
  [/\bwanna\b/gi, "want to"],
  [/\bgotta\b/gi, "got to"],
  [/\bcan not\b/gi, "cannot"],
  // The same contractions typed without the apostrophe ("whats", "dont"): common, and negations must be seen.
  [/\b(what|where|who|how|when|why|that|there)s\b/gi, "$1 is"],
  [/\b(do|does|did|is|are|was|were|could|should|would|has|have|had)nt\b/gi, "$1 not"],
  [/\bcant\b/gi, "cannot"],
  [/\bim\b/gi, "i am"],
  [/\bive\b/gi, "i have"],
  [/\b(you|they)re\b/gi, "$1 are"],
  [/n't\b/gi, " not"],
  [/\b(i)'m\b/gi, "$1 am"],
  [/'re\b/gi, " are"],
  [/'ve\b/gi, " have"],
  [/'ll\b/gi, " will"],
  [/'d\b/gi, " would"],
  [new RegExp(`\\b(${[...IS_CONTRACTED].join("|")})'s\\b`, "gi"), "$1 is"],
  // A remaining 's is a possessive: "Canada's" → "Canadas" (the embedder's stemmer drops the s).
  [/(\p{L})'s\b/giu, "$1s"],
];

const UNITS_0_19 = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
const TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SMALL = new Map<string, number>([
  ...UNITS_0_19.map((w, i) => [w, i] as [string, number]),
  ...TENS.map((w, i) => [w, 20 + 10 * i] as [string, number]),
]);
const SCALES = new Map([
  ["hundred", 100],
  ["thousand", 1_000],
  ["million", 1_000_000],
  ["billion", 1_000_000_000],
]);

/** Characters kept inside a token besides letters, digits and marks. */
const KEPT = "_.+*/=<>%^$€£¥#&@°:-";
const KEPT_CLASS = `\\p{L}\\p{N}\\p{M}${KEPT.replace(/[-\\^$*+?.()|[\]{}/]/g, "\\$&")}`;
const NOT_KEPT = new RegExp(`[^${KEPT_CLASS}]`, "gu");
/** Punctuation trimmed from both ends of a token. */
const EDGES = /^[.,;:!?()[\]{}"'`«»¿¡…]+|[.,;:!?()[\]{}"'`«»¿¡…]+$/gu;
const URL = /^(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s]+$/i;
const EMAIL = /^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$/u;

/** True for a URL or an e-mail address, which pass through whole (only their trailing punctuation trimmed). */
export function isLink(token: string): boolean {
  return URL.test(token) || EMAIL.test(token);
}

/** Curly quotes and apostrophes to ASCII, dashes to a hyphen or a space, before anything else looks at them. */
export function plainPunctuation(text: string): string {
  return text
    .replace(/[\u2018\u2019\u201A\u201B\u2032\u02BC]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/[\u2013\u2212]/g, "-")
    .replace(/[\u2014\u2015]/g, " ");
}

/** One whitespace-delimited piece → its normalized tokens (case kept; see `questionTokens`). */
function pieceTokens(piece: string): string[] {
  const trimmed = piece.replace(EDGES, "");
  if (trimmed === "") return [];
  if (isLink(trimmed)) return [trimmed.replace(/[.,;:!?)\]]+$/, "")];
  const cleaned = trimmed
    .replace(/(\d),(?=\d{3}(?!\d))/g, "$1") // 1,000 → 1000
    .replace(/(\d),(?=\d)/g, "$1.") // 3,5 → 3.5
    .replace(/(?<!\d):|:(?!\d)/g, " ") // a colon only between digits (10:30)
    .replace(NOT_KEPT, " ")
    .replace(/(?<![\p{L}\p{N}])\.|\.(?![\p{L}\p{N}])/gu, " ") // a dot only between letters or digits
    .replace(/(?<=\p{L})-(?=\p{L})/gu, " ") // well-known → well known
    .replace(/(?<![\p{L}\p{N}])&(?![\p{L}\p{N}])/gu, " and ");
  return cleaned
    .split(/\s+/)
    .map((t) => t.replace(EDGES, ""))
    .filter((t) => t !== "");
}

/** Runs of number words ("twenty five", "three hundred") → digits; "one" alone stays a word ("which one"). */
function numberWords(tokens: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    let j = i;
    let total = 0;
    let current = 0;
    let words = 0;
    while (j < tokens.length) {
      const w = (tokens[j] ?? "").toLowerCase();
      const small = SMALL.get(w);
      const scale = SCALES.get(w);
      if (small !== undefined) {
        if (words > 0 && current % 100 !== 0 && !(current % 10 === 0 && current >= 20 && small < 10)) break;
        current += small;
      } else if (scale !== undefined && words > 0) {
        if (scale === 100) current *= 100;
        else {
          total += current * scale;
          current = 0;
        }
      } else break;
      words++;
      j++;
    }
    const alone = tokens[i]?.toLowerCase();
    if (words === 0 || (words === 1 && alone === "one")) {
      out.push(tokens[i] ?? "");
      i++;
    } else {
      out.push(String(total + current));
      i = j;
    }
  }
  return out;
}

/** Canonical unit, then its spellings after a number ("5 kilometers" → "5 km", "$5" → "5 usd"). */
const UNIT_ROWS = [
  "km kms kilometer kilometers kilometre kilometres",
  "m meter meters metre metres",
  "cm centimeter centimeters centimetre centimetres",
  "mm millimeter millimeters millimetre millimetres",
  "mi mile miles",
  "ft foot feet",
  "inch inches",
  "yd yard yards",
  "kg kgs kilo kilos kilogram kilograms",
  "g gram grams gramme grammes",
  "mg milligram milligrams",
  "lb lbs pound pounds",
  "oz ounce ounces",
  "l liter liters litre litres",
  "ml milliliter milliliters millilitre millilitres",
  "gal gallon gallons",
  "cup cups",
  "tbsp tablespoon tablespoons",
  "tsp teaspoon teaspoons",
  "°c c celsius",
  "°f f fahrenheit",
  "kelvin",
  "° deg degree degrees",
  "s sec secs second seconds",
  "min mins minute minutes",
  "h hr hrs hour hours",
  "day days",
  "week weeks",
  "month months",
  "year years yr yrs",
  "am a.m",
  "pm p.m",
  "% percent pct",
  "usd $ dollar dollars bucks",
  "eur € euro euros",
  "gbp £",
  "jpy ¥ yen",
  "kb kilobyte kilobytes",
  "mb megabyte megabytes",
  "gb gigabyte gigabytes",
  "tb terabyte terabytes",
  "mbps",
  "ghz",
  "mhz",
  "hz hertz",
  "w watt watts",
  "kw kilowatt kilowatts",
  "kwh",
  "v volt volts",
  "amp amps ampere amperes",
  "km/h kmh kph",
  "mph",
  "m/s",
  "px pixel pixels",
  "kcal calorie calories cal",
];
const UNITS = new Map<string, string>();
for (const row of UNIT_ROWS) {
  const [unit = "", ...aliases] = row.split(" ");
  for (const alias of [unit, ...aliases]) UNITS.set(alias, unit);
}
/** Units that may be glued to their number ("5km", "100g", "180°C"); single letters are too ambiguous. */
const GLUED = /^([$€£¥]?-?\d+(?:\.\d+)*)(°[cf]?|[a-z][a-z/.]+|g|l|h)$/;

/** The canonical unit a word names after a number (`kilometres` → `km`), if it names one. */
export function unitOf(word: string): string | undefined {
  return UNITS.get(word.toLowerCase());
}

/** Symbols and words that join two numbers into one expression ("2 + 2", "7 times 8" → "2+2", "7*8"). */
const JOINING = new Map([
  ...["+", "-", "*", "/", "=", "<", ">", "^"].map((o) => [o, o] as [string, string]),
  ["plus", "+"],
  ["minus", "-"],
  ["times", "*"],
  ["x", "*"],
  ["×", "*"],
  ["÷", "/"],
]);

/**
 * Numbers in one spelling: "$5" and "5 dollars" → "5 usd", "5km" → "5 km", "15 percent" → "15%",
 * "30 degrees celsius" → "30 °c", "2 + 2" and "two plus two" → "2+2".
 */
function numbersAndUnits(tokens: string[]): string[] {
  const split = tokens.flatMap((t) => {
    const glued = t.toLowerCase().match(GLUED);
    const unit = glued ? UNITS.get(glued[2] ?? "") : undefined;
    return glued && unit ? [t.slice(0, glued[1]?.length), unit] : [t];
  });
  const out: string[] = [];
  for (let i = 0; i < split.length; i++) {
    let tok = split[i] ?? "";
    const currency = tok.match(/^([$€£¥])(-?\d+(?:\.\d+)*)$/);
    if (currency) {
      out.push(currency[2] ?? "", UNITS.get(currency[1] ?? "") ?? "");
      continue;
    }
    const prev = out[out.length - 1] ?? "";
    const numeric = /\d$/.test(prev);
    const lower = tok.toLowerCase();
    let unit = numeric ? UNITS.get(lower) : undefined;
    if (numeric && lower === "per" && split[i + 1]?.toLowerCase() === "cent") {
      unit = "%";
      i++;
    }
    if (unit === "°") {
      const scale = UNITS.get(split[i + 1]?.toLowerCase() ?? "");
      if (scale === "°c" || scale === "°f") {
        unit = scale;
        i++;
      }
    }
    if (unit === "%") {
      out[out.length - 1] = `${prev}%`;
      continue;
    }
    if (unit) tok = unit;
    const op = JOINING.get(lower);
    const next = split[i + 1] ?? "";
    if (op && /\d%?$/.test(prev) && /^-?\d/.test(next) && !UNITS.has(next.toLowerCase())) {
      out[out.length - 1] = `${prev}${op}${next}`;
      i++;
      continue;
    }
    out.push(tok);
  }
  return out;
}

/**
 * The question's tokens with their case kept: NFKC, ASCII quotes, contractions expanded, punctuation that
 * carries no meaning dropped (quote marks, backticks, brackets, sentence punctuation), number words as digits.
 * `normalizeQuestion` is these, lower-cased, joined by one space; the lexical check reads case from them.
 */
export function questionTokens(text: string): string[] {
  let t = plainPunctuation(text.normalize("NFKC"));
  for (const [re, to] of CONTRACTIONS) t = t.replace(re, to);
  // Any other apostrophe inside a word separates (French l'eau, c'est, n'est); quote marks go with EDGES.
  t = t.replace(/(?<=\p{L})'(?=\p{L})/gu, " ");
  const tokens = t.split(/\s+/).flatMap(pieceTokens);
  // A lone hyphen is an operator only between numbers ("5 - 3"); elsewhere it is a dash.
  const kept = tokens.filter(
    (tok, i) => tok !== "-" || (/\d$/.test(tokens[i - 1] ?? "") && /^\d/.test(tokens[i + 1] ?? "")),
  );
  return numbersAndUnits(numberWords(kept));
}

/** The normalized question: what is embedded and compared. */
export function normalizeQuestion(text: string): string {
  return questionTokens(text)
    .map((t) => t.toLowerCase())
    .join(" ")
    .normalize("NFKC");
}

/**
 * English words that do not change what a question asks: articles, auxiliaries, pronouns, most prepositions,
 * and the scaffolding of a request ("please tell me", "can you explain"). Wh-words that change the answer
 * (who, when, where, why), negations and directional words are not here.
 */
const STOP_WORDS = new Set(
  (
    "a an the is are was were be been being am do does did doing done have has had having i me my mine myself " +
    "we us our ours you your yours yourself he him his she her hers it its itself they them their theirs this " +
    "that these those what which how of in on at for to from by with about into onto as and or if so than then " +
    "there here can could would should will shall may might must please tell explain know want wondering " +
    "wonder some any just really very also way like need let one ok okay hi hello hey thanks thank kindly anyone " +
    "someone actually basically exactly"
  ).split(" "),
);

/** True for a word `contentWords` leaves out. */
export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/** Light English stemming: plural -s/-es/-ies, -ing, -ed, a final -e; words with digits or symbols unchanged. */
export function stem(word: string): string {
  if (word.length <= 3 || !/^\p{L}+$/u.test(word)) return word;
  let s = word;
  if (s.endsWith("ies") && s.length > 4) s = `${s.slice(0, -3)}y`;
  else if (/(?:ch|sh|x|ss|z)es$/.test(s)) s = s.slice(0, -2);
  else if (s.endsWith("s") && !/(?:ss|us|is)$/.test(s)) s = s.slice(0, -1);
  let suffix = false;
  if (s.endsWith("ing") && s.length > 5) {
    s = s.slice(0, -3);
    suffix = true;
  } else if (s.endsWith("ed") && s.length > 4) {
    s = s.slice(0, -2);
    suffix = true;
  }
  // running → run, stopped → stop (but not fall, miss, buzz)
  if (suffix && /([b-df-hj-km-rtv-y])\1$/.test(s)) s = s.slice(0, -1);
  if (s.endsWith("e") && s.length > 3) s = s.slice(0, -1);
  return s;
}

/** The question's content words in order: normalized, stop words out, stemmed. */
export function contentWords(text: string): string[] {
  return normalizeQuestion(text)
    .split(" ")
    .filter((w) => w !== "" && !STOP_WORDS.has(w))
    .map(stem);
}
