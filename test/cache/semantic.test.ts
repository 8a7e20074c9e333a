import { describe, expect, it } from "vitest";
import { localEmbedder } from "../../src/cache/embedder/local";
import { lexicalMismatch } from "../../src/cache/semantic/lexical";
import { normalizeQuestion } from "../../src/cache/semantic/normalize";
import { cosine, DEFAULT_THRESHOLD, semanticAgree } from "../../src/cache/semantic/similarity";
import pairs from "../fixtures/cache-eval.json";

const fixtureQuestions = pairs.flatMap((p) => [p.a, p.b]);

describe("normalizeQuestion", () => {
  it("applies NFKC, lower-cases and collapses whitespace", () => {
    expect(normalizeQuestion("  ＷＨＡＴ   is\tthis\n thing ")).toBe("what is this thing");
  });

  it("expands contractions, curly apostrophes included", () => {
    expect(normalizeQuestion("What’s up? It isn't. Don't! Can't, won't, I'm, they're, we've, you'll")).toBe(
      "what is up it is not do not cannot will not i am they are we have you will",
    );
  });

  it("drops punctuation that carries no meaning", () => {
    expect(normalizeQuestion('Well... "really"?! (yes) — [ok]; fine, state-of-the-art')).toBe(
      "well really yes ok fine state of the art",
    );
  });

  it("keeps digits, decimal points, operators, times and signs", () => {
    expect(normalizeQuestion("Is 3.5 > 2, and is -4 * 2 = -8 at 10:30?")).toBe(
      "is 3.5>2 and is -4*2=-8 at 10:30",
    );
  });

  it("keeps URLs, e-mail addresses and code identifiers whole", () => {
    expect(
      normalizeQuestion("See https://Example.com/a?b=1, mail Bob@x.io about `user_id` in node.js."),
    ).toBe("see https://example.com/a?b=1 mail bob@x.io about user_id in node.js");
  });

  it("keeps the words inside quotes and drops the quote marks", () => {
    expect(normalizeQuestion("Translate “good morning” and 'see you'")).toBe(
      "translate good morning and see you",
    );
  });

  it("writes numbers, units and expressions one way", () => {
    expect(normalizeQuestion("two plus two")).toBe(normalizeQuestion("2 + 2"));
    expect(normalizeQuestion("2 + 2")).toBe("2+2");
    expect(normalizeQuestion("twenty-five kilometres in 1,000 years")).toBe("25 km in 1000 year");
    expect(normalizeQuestion("$5 or 15 percent at 180°C")).toBe("5 usd or 15% at 180 °c");
    expect(normalizeQuestion("which one")).toBe("which one");
  });

  it("is idempotent on every question of the eval fixture", () => {
    for (const q of fixtureQuestions)
      expect(normalizeQuestion(normalizeQuestion(q)), q).toBe(normalizeQuestion(q));
  });
});

describe("lexicalMismatch", () => {
  it("agrees on paraphrases: case, punctuation, stop words, contractions, synonyms, reordering", () => {
    const same: [string, string][] = [
      ["What is the capital of France?", "what's the capital city of france"],
      ["Why isn't my printer working?", "Why is my printer not working"],
      ["How do I purchase a used car?", "how can I buy a used automobile"],
      ["In Python, how do I read a file line by line?", "How do I read a file line by line in Python?"],
      ["What is two plus two?", "what is 2 + 2"],
      ["Convert 5 km to miles", "How many miles is 5 kilometers?"],
      ["What does 'carpe diem' mean?", "meaning of carpe diem"],
      ["Flights to Rome from Paris", "Flights from Paris to Rome"],
      ["WHAT IS THE CAPITAL OF JAPAN", "What is the capital of Japan?"],
      [
        "Summarize this email: The meeting moved to Monday.",
        "Please summarize this email: the meeting moved to Monday",
      ],
    ];
    for (const [a, b] of same) expect(lexicalMismatch(a, b), `${a} / ${b}`).toBeNull();
  });

  it("agrees with the normalized form of any fixture question", () => {
    for (const q of fixtureQuestions) expect(lexicalMismatch(normalizeQuestion(q), q), q).toBeNull();
  });

  it("sees different numbers, inside expressions too", () => {
    expect(lexicalMismatch("What is 2+2?", "What is 2+3?")).toBe("numbers differ");
    expect(lexicalMismatch("What is two plus two?", "What is two plus three?")).toBe("numbers differ");
    expect(lexicalMismatch("Python 3.11 features", "Python 3.12 features")).toBe("numbers differ");
    expect(lexicalMismatch("the 16th president", "the 17th president")).toBe("numbers differ");
  });

  it("sees the same numbers in another order and different operators", () => {
    expect(lexicalMismatch("Is 12 - 5 equal to 7?", "Is 5 - 12 equal to 7?")).toBe("number order differs");
    expect(lexicalMismatch("What is 9 minus 3?", "What is 9 plus 3?")).toBe("operators differ");
  });

  it("sees a different unit on the same number", () => {
    expect(lexicalMismatch("Walk 5 km", "Walk 5 miles")).toBe("units differ");
    expect(lexicalMismatch("Is 30 degrees Celsius hot?", "Is 30 degrees Fahrenheit hot?")).toBe(
      "units differ",
    );
    expect(lexicalMismatch("Is 5 am too early?", "Is 5 pm too early?")).toBe("units differ");
    expect(lexicalMismatch("a 2 lb package", "a 2 kg package")).toBe("units differ");
  });

  it("sees negation in English, by prefix, and in French, Spanish and German", () => {
    const negated: [string, string][] = [
      ["Is X safe?", "Is X not safe?"],
      ["Why does my code work?", "Why doesn't my code work?"],
      ["Do I need a visa?", "dont I need a visa"],
      ["Is the shop open?", "isnt the shop open"],
      ["Movies with a happy ending", "Movies without a happy ending"],
      ["Why does everyone like it?", "Why does nobody like it?"],
      ["Which planets have rings?", "Which planets have no rings?"],
      ["Is it legal to record calls?", "Is it illegal to record calls?"],
      ["Est-ce que le café est bon ?", "Est-ce que le café n'est pas bon ?"],
      ["¿Es seguro nadar?", "¿No es seguro nadar?"],
      ["Ist Kaffee gesund?", "Ist Kaffee nicht gesund?"],
      ["Gibt es einen Zug?", "Gibt es keinen Zug?"],
    ];
    for (const [a, b] of negated) expect(lexicalMismatch(a, b), `${a} / ${b}`).toBe("negation differs");
  });

  it("sees different quoted text, code, identifiers, URLs and e-mail addresses", () => {
    expect(lexicalMismatch("Summarize 'the cat sat'", "Summarize 'the dog sat'")).toBe("quoted text differs");
    expect(lexicalMismatch("What does `map` do?", "What does `filter` do?")).toBe("identifiers differ");
    expect(lexicalMismatch("What does getUserById return?", "What does getUserByName return?")).toBe(
      "identifiers differ",
    );
    expect(lexicalMismatch("Explain ```x = 1```", "Explain ```x = 2```")).toBe("code differs");
    expect(lexicalMismatch("Is https://a.example safe?", "Is https://b.example safe?")).toBe("urls differ");
    expect(lexicalMismatch("Email ann@x.io now", "Email bob@x.io now")).toBe("urls differ");
  });

  it("sees swapped or changed entities, capitalized or not", () => {
    expect(lexicalMismatch("Flights from Paris to Rome", "Flights from Rome to Paris")).toBe(
      "entity order differs",
    );
    expect(lexicalMismatch("trains from london to leeds", "trains from leeds to london")).toBe(
      "entity order differs",
    );
    expect(lexicalMismatch("Is Python faster than Java?", "Is Java faster than Python?")).toBe(
      "entity order differs",
    );
    expect(lexicalMismatch("Does Alice owe Bob money?", "Does Bob owe Alice money?")).toBe(
      "entity order differs",
    );
    expect(lexicalMismatch("What is the capital of Australia?", "What is the capital of Austria?")).toBe(
      "entities differ",
    );
  });

  it("sees another language, another question word, opposite words and another payload", () => {
    expect(lexicalMismatch("What is the capital of France?", "Quelle est la capitale de la France ?")).toBe(
      "language differs",
    );
    expect(lexicalMismatch("When was the tower built?", "Where was the tower built?")).toBe(
      "question word differs",
    );
    expect(lexicalMismatch("How do I upload a file?", "How do I download a file?")).toBe(
      "opposite words differ",
    );
    expect(lexicalMismatch("Translate to French: good morning", "Translate to French: good night")).toBe(
      "payload differs",
    );
  });
});

describe("localEmbedder", () => {
  const embedder = localEmbedder();

  it("names itself local:v1 and makes vectors of the asked length", async () => {
    expect(embedder.id).toBe("local:v1");
    expect(embedder.dimensions).toBe(384);
    const [v] = await localEmbedder(64).embed(["hello"]);
    expect(v).toHaveLength(64);
    expect(() => localEmbedder(0)).toThrow(RangeError);
  });

  it("is deterministic", async () => {
    const texts = ["How do I reverse a list in Python?", "What is 2+2?"];
    expect(await embedder.embed(texts)).toEqual(await localEmbedder().embed(texts));
  });

  it("returns unit-length vectors, for stop words only and empty text too", async () => {
    for (const v of await embedder.embed(["What is the speed of light?", "how are you", "", "?!"])) {
      expect(Math.hypot(...v)).toBeCloseTo(1, 9);
    }
  });

  it("places a paraphrase closer than an unrelated question", async () => {
    const [q, para, other] = await embedder.embed([
      "How do I reverse a list in Python?",
      "python: how to reverse a list",
      "What is the capital of Peru?",
    ]);
    expect(cosine(q ?? [], para ?? [])).toBeGreaterThan(cosine(q ?? [], other ?? []) + 0.5);
  });

  it('puts "capital" and "capital city" above DEFAULT_THRESHOLD', async () => {
    const [a, b] = await embedder.embed([
      "What is the capital of Germany?",
      "What's the capital city of germany",
    ]);
    expect(cosine(a ?? [], b ?? [])).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
  });
});

describe("cosine and semanticAgree", () => {
  it("computes cosine similarity and refuses vectors of different lengths", () => {
    expect(cosine([1, 0], [1, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosine([1, 1], [-2, -2])).toBeCloseTo(-1);
    expect(cosine([0, 0], [1, 0])).toBe(0);
    expect(() => cosine([1], [1, 0])).toThrow(RangeError);
  });

  it("agrees only above the threshold and when the lexical check agrees", () => {
    expect(semanticAgree("What is 2+2?", "what's 2 + 2", 0.99, 0.9)).toBe(true);
    expect(semanticAgree("What is 2+2?", "what's 2 + 2", 0.89, 0.9)).toBe(false);
    expect(semanticAgree("What is 2+2?", "What is 2+3?", 0.99, 0.9)).toBe(false);
    expect(semanticAgree("a question", "a question", DEFAULT_THRESHOLD)).toBe(true);
  });
});
