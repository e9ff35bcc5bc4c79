import { createInterface } from 'node:readline';

/** Everything on stdin, for piped input (`echo $TOKEN | npkg login --with-token`). */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from the terminal; with `secret`, nothing typed is echoed. */
export function askLine(question: string, secret = false): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (secret) {
      // readline echoes through _writeToOutput: mute it after the question is shown.
      const writable = rl as unknown as { _writeToOutput: (text: string) => void };
      const original = writable._writeToOutput.bind(rl);
      writable._writeToOutput = (text) => (text.startsWith(question) ? original(text) : undefined);
    }
    rl.question(question, (answer) => {
      rl.close();
      if (secret) process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/** A line from the terminal when there is one, else all of stdin. */
export function readInput(question: string): Promise<string> {
  return process.stdin.isTTY ? askLine(question) : readAllStdin();
}
