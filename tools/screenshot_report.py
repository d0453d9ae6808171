"""Render an HTML report (or any HTML/SVG file) in headless Chromium and save a PNG.

    python tools/screenshot_report.py run.html                 # writes run.png beside it
    python tools/screenshot_report.py run.html -o shot.png --width 1280 --height 3000

For checking how a glassnet training report looks without a display. Needs a Chromium
binary (Debian: apt-get install chromium); nothing is fetched from the network: the
report is self-contained and the browser runs with networking extras switched off.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser():
    """The path of a Chromium-family browser, or None."""
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html_path, png_path=None, width=1280, height=3000, browser=None, timeout=120):
    """Render ``html_path`` at ``width`` x ``height`` CSS pixels into ``png_path``; returns it."""
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise FileNotFoundError(f"screenshot: no such file {html_path}")
    png_path = Path(png_path or html_path.with_suffix(".png")).resolve()
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("screenshot: no Chromium found; install one (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="gn-chromium-") as profile:
        cmd = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--screenshot={png_path}", f"--window-size={width},{height}",
            html_path.as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if not png_path.is_file() or png_path.stat().st_size == 0:
        raise RuntimeError(f"screenshot: {browser} wrote no image (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return png_path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html", help="the HTML (or SVG) file to render")
    p.add_argument("-o", "--out", help="PNG to write (default: the HTML path with .png)")
    p.add_argument("--width", type=int, default=1280, help="window width in CSS pixels (default 1280)")
    p.add_argument("--height", type=int, default=3000, help="window height in CSS pixels (default 3000)")
    p.add_argument("--browser", help="browser binary (default: the first Chromium found on PATH)")
    args = p.parse_args(argv)
    try:
        out = screenshot(args.html, args.out, args.width, args.height, args.browser)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"screenshot_report: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
