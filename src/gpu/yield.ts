// Long GPU recording in one JavaScript task would block a page's input and painting: a step or a
// render that no longer waits for GPU readbacks records all its work at once. Recording loops call
// yieldIfLong between pieces of work, which lets the event loop run once the work since the last
// yield passed a small budget (nearly free where recording is quick).

/** Milliseconds of recording between chances for the page to handle input. */
const BUDGET_MS = 8;
let lastYield = performance.now();

/** Lets the event loop run when more than BUDGET_MS passed since the last yield here. */
export async function yieldIfLong(): Promise<void> {
  if (performance.now() - lastYield < BUDGET_MS) return;
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  lastYield = performance.now();
}
