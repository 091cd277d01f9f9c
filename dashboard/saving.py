"""
The files the dashboard writes: its picture (--save-image) and a movie (--save-movie)
=====================================================================================

Each path is checked before training (check_image_path, check_movie_path), so that a
typo does not cost a whole run, and each file is written under a temporary name and
renamed once complete (safefiles), so that a failed run leaves no half-written file.
A movie is a GIF (Pillow, in memory) or a video that ffmpeg encodes as frames come.
"""

import contextlib
import os
import shutil
import subprocess

import numpy as np
import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg

from codelab import safefiles

MOVIE_FPS = 10
MAX_MOVIE_FRAMES = 200             # longer runs record every 2nd, 3rd... figure update
GIF_SCALE = 0.6                    # 780 x 432 pixels; a GIF keeps every frame in memory
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm")   # written by ffmpeg


class OutputPathError(safefiles.PathError):
    """An output file (--save-image, --save-movie) cannot be written where asked."""


def check_output_path(path, flag_name="output"):
    """The absolute path (a str), after checking that it can be written (safefiles).

    Call it before training so that a typo does not cost a whole run. Raises
    OutputPathError with a message naming the flag and the path.
    """
    problem = safefiles.why_not_writable(path)
    if problem:
        remedy = safefiles.with_remedy(problem, "choose another path")
        raise OutputPathError(f"{flag_name}: {remedy}")
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def check_image_path(path, flag_name="--save-image"):
    """check_output_path, and an extension that names an image format matplotlib writes."""
    path = check_output_path(path, flag_name)
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    formats = FigureCanvasAgg.get_supported_filetypes()
    if extension not in formats:
        raise OutputPathError(f"{flag_name}: '{path}' does not end in an image format "
                              f"matplotlib writes; use .png (or one of: "
                              f"{', '.join('.' + name for name in sorted(formats))})")
    return path


def check_movie_path(path, flag_name="--save-movie"):
    """check_output_path, and a movie format this machine can write: .gif always,
    .mp4 .mkv .mov .avi .webm with ffmpeg."""
    path = check_output_path(path, flag_name)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".gif":
        return path
    if extension not in VIDEO_EXTENSIONS:
        raise OutputPathError(f"{flag_name}: '{path}': name the movie .gif or "
                              f"{' '.join(VIDEO_EXTENSIONS)} (the last ones need ffmpeg)")
    if _ffmpeg() is None:
        raise OutputPathError(f"{flag_name}: writing '{path}' needs ffmpeg, which is not "
                              f"installed (e.g. apt install ffmpeg, brew install ffmpeg); "
                              f"or name the movie .gif")
    return path


def _ffmpeg():
    """The ffmpeg program matplotlib would use (rcParams['animation.ffmpeg_path']), or None."""
    return shutil.which(matplotlib.rcParams["animation.ffmpeg_path"])


def save_figure(fig, path):
    """Write `fig` to `path` in the format its extension names, atomically."""
    with safefiles.atomic_path(path) as temporary:
        fig.savefig(temporary, format=os.path.splitext(path)[1].lower().lstrip("."))


class MovieRecorder:
    """A movie made of RGBA frames (numpy [H, W, 4] uint8), of a size fixed at the start.

    .gif: kept in memory with a 256-colour palette, written by Pillow at the end.
    Video formats: piped to ffmpeg as they come. Either way the file is written under
    a temporary name and renamed at the end, so a failed run leaves nothing behind.
    """

    def __init__(self, path, size, flag_name="--save-movie"):
        self.path = check_movie_path(path, flag_name)
        self.gif = self.path.lower().endswith(".gif")
        width, height = size
        if self.gif:
            width, height = round(width * GIF_SCALE), round(height * GIF_SCALE)
        self.size = (width - width % 2, height - height % 2)   # video codecs want even sizes
        self.frames = 0
        # Written under a temporary name that becomes self.path only if all went well.
        self._file = contextlib.ExitStack()
        self._temporary = str(self._file.enter_context(safefiles.atomic_path(self.path)))
        self._gif_frames = []
        self._ffmpeg = None
        if not self.gif:
            command = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo",
                       "-pix_fmt", "rgba", "-s", f"{self.size[0]}x{self.size[1]}",
                       "-r", str(MOVIE_FPS), "-i", "-", "-pix_fmt", "yuv420p",
                       self._temporary]
            self._ffmpeg = subprocess.Popen(command, stdin=subprocess.PIPE,
                                            stderr=subprocess.PIPE)

    def add(self, rgba):
        """Add one frame; it is scaled to the movie's size if the window was resized."""
        from PIL import Image
        frame = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
        if frame.size != self.size:
            frame = frame.resize(self.size, Image.Resampling.BILINEAR)
        if self.gif:
            self._gif_frames.append(frame.convert("P", palette=Image.Palette.ADAPTIVE))
        else:
            try:
                self._ffmpeg.stdin.write(frame.convert("RGBA").tobytes())
            except BrokenPipeError:
                raise OutputPathError(f"--save-movie: ffmpeg stopped while writing "
                                      f"'{self.path}': {self._ffmpeg_errors()}") from None
        self.frames += 1

    def _ffmpeg_errors(self):
        """Wait for ffmpeg to end, close its pipes, return the end of what it said."""
        _, errors = self._ffmpeg.communicate()   # closes its input: the end of the movie
        return errors.decode(errors="replace").strip()[-500:]

    def finish(self):
        """Write the file (if any frame was recorded) and return its path, else None."""
        try:
            if self.gif and self._gif_frames:
                first, *others = self._gif_frames
                first.save(self._temporary, format="GIF", save_all=True, append_images=others,
                           duration=int(1000 / MOVIE_FPS), loop=0)
            elif self._ffmpeg:
                errors = self._ffmpeg_errors()
                if self._ffmpeg.returncode != 0:
                    raise OutputPathError(f"--save-movie: ffmpeg could not write "
                                          f"'{self.path}': {errors}")
        except BaseException:
            self._discard()
            raise
        if not self.frames:
            self._discard()
            return None
        self._file.close()                # the temporary takes the movie's name
        return self.path

    def _discard(self):
        """Remove the temporary file; self.path is left as it was."""
        self._file.__exit__(OSError, OSError("movie discarded"), None)

    def abandon(self):
        """Stop without writing anything (training failed)."""
        if self._ffmpeg:
            if self._ffmpeg.poll() is None:
                self._ffmpeg.kill()
            self._ffmpeg_errors()
        self._discard()
