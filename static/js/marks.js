// Performance marks for bench/dashboard.py: each is set once, after the frame that shows the change
// has been painted (a requestAnimationFrame callback runs before that paint, its timeout after it).

const painted = new Set();

export function markPainted(name) {
  if (painted.has(name)) return;
  painted.add(name);
  requestAnimationFrame(() => setTimeout(() => performance.mark(name)));
}
