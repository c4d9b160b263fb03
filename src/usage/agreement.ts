// A cheap lexical agreement score between two answers: cosine similarity of their word counts, 0 (nothing shared) to 1.

function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

export function agreementScore(a: string, b: string): number {
  const x = wordCounts(a);
  const y = wordCounts(b);
  if (x.size === 0 && y.size === 0) return 1;
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (const [w, n] of x) {
    nx += n * n;
    dot += n * (y.get(w) ?? 0);
  }
  for (const n of y.values()) ny += n * n;
  return nx === 0 || ny === 0 ? 0 : Math.round((dot / Math.sqrt(nx * ny)) * 1e4) / 1e4;
}

/** The first number 0–10 in a judge's reply, or null. */
export function parseJudgeScore(text: string): number | null {
  const m = /\b(10|\d)(?:\.\d+)?\b/.exec(text);
  if (!m) return null;
  const n = Number(m[0]);
  return n >= 0 && n <= 10 ? n : null;
}
