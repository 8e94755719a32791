import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `value` as one word for sh and bash. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A real terminal: a detached tmux session on a private tmux server, so the command
 * under test sees a TTY of a known size and the screen can be read back as text.
 */
export class TmuxTerminal {
  static #count = 0;

  private constructor(
    /**
     * The tmux server's socket file: a private server for this terminal alone. A server shared by
     * terminals exits when its last session is killed, and a session started in that moment fails
     * with "server exited unexpectedly".
     */
    private readonly socket: string,
    readonly session: string,
  ) {}

  /**
   * Runs `command` (a shell command line) in a new session, 120×30 unless told, on a tmux server
   * of its own beside `socket`; the pane stays open
   * afterwards with `EXIT=<status>` as its last line, for `exitCode`.
   */
  static async start(command: string, { socket, columns = 120, rows = 30 }: { socket: string; columns?: number; rows?: number }): Promise<TmuxTerminal> {
    const session = `t${(TmuxTerminal.#count += 1)}`;
    const terminal = new TmuxTerminal(`${socket}.${session}`, session);
    // -u: UTF-8 whatever this process's locale; the command's output then reaches the pane unchanged.
    // bash, not sh: on Ctrl-C it waits for the command and goes on when the command handled the signal itself.
    const script = `${command}; echo EXIT=$?; sleep 600`;
    await terminal.#tmux('-u', 'new-session', '-d', '-s', terminal.session, '-x', String(columns), '-y', String(rows), `exec bash -c ${shellQuote(script)}`);
    return terminal;
  }

  /** The screen as text, one line per row; a line the terminal wrapped is joined back. */
  async screen(): Promise<string> {
    return (await this.#tmux('capture-pane', '-p', '-J', '-t', this.session)).stdout;
  }

  /** The screen once `pattern` appears on it. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`${pattern} did not appear in ${timeoutMs} ms; the screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The command's exit status, once it has exited. */
  async exitCode(timeoutMs = 60_000): Promise<number> {
    const screen = await this.waitFor(/^EXIT=\d+$/m, timeoutMs);
    return Number(/^EXIT=(\d+)$/m.exec(screen)![1]);
  }

  /** Types `keys` as tmux names them: `C-c` is Ctrl-C. */
  async press(keys: string): Promise<void> {
    await this.#tmux('send-keys', '-t', this.session, keys);
  }

  async close(): Promise<void> {
    await this.#tmux('kill-session', '-t', this.session).catch(() => undefined);
  }

  #tmux(...args: string[]) {
    return run('tmux', ['-S', this.socket, ...args]);
  }
}
