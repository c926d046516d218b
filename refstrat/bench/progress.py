"""Progress of a matrix on stderr (stdout is for the report): rich if installed, else tqdm,
else plain lines."""

from __future__ import annotations

import sys
import time


class Progress:
    """rich if installed, else tqdm, else plain lines on stderr (stdout is for the report)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self._rich = self._tqdm = None
        if not sys.stderr.isatty():
            return  # no bars in logs and pipes: plain lines read better there
        try:
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(console=Console(stderr=True), transient=False)
            self._rich.start()
            self._task = self._rich.add_task("benchmarks", total=total)
            return
        except ImportError:
            pass
        try:
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, file=sys.stderr, unit="cell")
        except ImportError:
            pass

    def begin(self, label: str) -> None:
        """Show that the next benchmark, ``label``, is under way."""
        if self._rich is not None:
            self._rich.update(self._task, description=label)
        elif self._tqdm is not None:
            self._tqdm.set_description(label)
        else:
            print(f"[{self.done + 1:>3}/{self.total}] {label} ...", file=sys.stderr, flush=True)

    def end(self) -> None:
        """Count the benchmark begun last as done."""
        self.done += 1
        if self._rich is not None:
            self._rich.advance(self._task)
        elif self._tqdm is not None:
            self._tqdm.update(1)

    def close(self) -> None:
        """Stop the bar and say how many benchmarks took how long."""
        if self._rich is not None:
            self._rich.stop()
        elif self._tqdm is not None:
            self._tqdm.close()
        print(f"done: {self.done} benchmarks in {time.monotonic() - self.start:.0f} s", file=sys.stderr)
