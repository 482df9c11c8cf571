// A long job's progress as the export panels show it: a bar and what is being done.

export interface Progress {
  what: string;
  /** Done, from 0 to 1. */
  fraction: number;
}

export function ProgressBar({ progress, testId }: { progress: Progress; testId: string }) {
  return (
    <div className="progress" data-testid={testId}>
      <progress max={1} value={progress.fraction} />
      <div className="progress-text">{progress.what}</div>
    </div>
  );
}
