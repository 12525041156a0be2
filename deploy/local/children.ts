// Child processes the local stack starts (nats-server, later the labeling app): in their own
// process group (so Ctrl-C reaches only us and we stop them in order, after the services), stopped
// with SIGTERM (SIGKILL after a timeout), and killed if this process exits abruptly.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Logger } from '@tuneloop/service-kit';

export class Children {
  private readonly running = new Map<string, ChildProcess>();

  constructor(private readonly logger: Logger) {
    process.once('exit', () => {
      for (const c of this.running.values()) if (c.exitCode === null) c.kill('SIGKILL');
    });
  }

  /** Starts `command`; `name` is used in logs. An unexpected exit is logged as an error. */
  spawn(name: string, command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: 'ignore', detached: true, ...opts });
    this.running.set(name, child);
    child.once('exit', (code, signal) => {
      if (this.running.delete(name))
        this.logger.error({ child: name, code, signal }, 'child process exited unexpectedly');
    });
    this.logger.info(
      { child: name, pid: child.pid, command: [command, ...args].join(' ') },
      'started child process',
    );
    return child;
  }

  /** Stops every child (reverse start order), waiting up to `timeoutMs` each before SIGKILL. */
  async stopAll(timeoutMs = 5000): Promise<void> {
    for (const [name, child] of [...this.running].reverse()) {
      this.running.delete(name);
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      this.logger.info({ child: name }, 'stopped child process');
    }
  }
}
