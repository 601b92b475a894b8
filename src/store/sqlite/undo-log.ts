/**
 * Undo log for in-memory state changed by writer commands (the write-behind buffer). The writer marks
 * command and batch boundaries; a command that rolls back to its savepoint undoes its own changes, a
 * batch whose COMMIT fails undoes all of them, so memory always matches what the database committed.
 */
export class UndoLog {
  private batch: Array<() => void> = [];
  private commandStart = 0;

  /** Record how to undo a change just made inside the current command. */
  record(undo: () => void): void {
    this.batch.push(undo);
  }

  startCommand(): void {
    this.commandStart = this.batch.length;
  }

  /** The current command rolled back to its savepoint. */
  rollbackCommand(): void {
    while (this.batch.length > this.commandStart) this.batch.pop()!();
  }

  /** The batch committed: its changes stay. */
  commitBatch(): void {
    this.batch = [];
    this.commandStart = 0;
  }

  /** The batch failed to commit: undo everything it did, newest first. */
  rollbackBatch(): void {
    while (this.batch.length > 0) this.batch.pop()!();
    this.commandStart = 0;
  }
}
