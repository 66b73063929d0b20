// Colours: the Okabe–Ito palette, which stays distinguishable with the common colour-vision
// deficiencies. Categories get a hue family (attacks warm, strikes blue, signals green, diplomacy
// grey) and kinds take the family's colours in the order /api/v1/kinds/ lists them, so no kind code
// is hard-coded here.

const FAMILIES = {
  attack: ["#D55E00", "#E69F00", "#CC79A7", "#F0E442", "#8C3A00"],
  strike: ["#0072B2", "#56B4E9", "#00446B"],
  signal: ["#009E73", "#6FD3B5", "#005C43"],
  political: ["#6E6E6E", "#B0B0B0", "#3D3D3D"],
};
const FALLBACK = "#999999";

export const CATEGORY_COLORS = {
  attack: "#D55E00",
  strike: "#0072B2",
  signal: "#009E73",
  political: "#6E6E6E",
};

// Series colours for the troop chart (Okabe–Ito, black first).
export const SERIES_COLORS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

export function createPalette(kinds) {
  const used = {};
  const byKind = new Map();
  for (const kind of kinds) {
    const family = FAMILIES[kind.category] ?? [FALLBACK];
    const index = used[kind.category] ?? 0;
    used[kind.category] = index + 1;
    byKind.set(kind.code, { ...kind, color: family[index % family.length] });
  }
  const categories = [];
  for (const kind of kinds) {
    if (!categories.some((c) => c.code === kind.category)) {
      categories.push({ code: kind.category, label: kind.category_label, color: CATEGORY_COLORS[kind.category] ?? FALLBACK });
    }
  }
  return {
    kinds: [...byKind.values()],
    categories,
    kind: (code) => byKind.get(code)?.color ?? FALLBACK,
    kindLabel: (code) => byKind.get(code)?.label ?? code,
    categoryOf: (code) => byKind.get(code)?.category ?? "political",
    category: (code) => CATEGORY_COLORS[code] ?? FALLBACK,
    categoryLabel: (code) => categories.find((c) => c.code === code)?.label ?? code,
  };
}

/** Marker radius in pixels from the best casualty estimate: area grows with the count. */
export function radiusFor(casualties) {
  return Math.min(4.5 + 1.6 * Math.sqrt(Math.max(0, casualties || 0)), 18);
}
