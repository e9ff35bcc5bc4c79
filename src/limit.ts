/** Runs at most `concurrency` of the given works at once, in the order they were given. */
export function limitConcurrency(concurrency: number): <T>(work: () => Promise<T>) => Promise<T> {
  // Not p-limit: resolving that package costs a few milliseconds before the first request of every install.
  const queue: Array<() => void> = [];
  let active = 0;
  // A finished work hands its place straight to the next one waiting.
  const next = () => {
    const waiting = queue.shift();
    if (waiting === undefined) active--;
    else waiting();
  };
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((resolve) => queue.push(resolve));
    else active++;
    try {
      return await work();
    } finally {
      next();
    }
  };
}
