"""Renders the Markdown snapshots (plans, drift reports, failures) as GitHub does, with
cmark-gfm (cmarkgfm: GitHub's fork of cmark, with its extensions), and checks what a reviewer
needs of the HTML:

- no line of a code or `diff` block is wider than MAX_LINE characters (GitHub's comment column
  is about 900 pixels: some 110 characters of its code font), so nothing is off-screen;
- a plan that deletes or replaces a resource opens with a `> [!CAUTION]` callout;
- a `diff` block's changed lines each start with `-` or `+` (GitHub colours those).

    python markdown.py SNAPSHOT...

Prints one line per failed check and `N passed, N failed`; exits 1 on any failure.
"""

import html
import re
import sys

import cmarkgfm
from cmarkgfm.cmark import Options

MAX_LINE = 110


def markdown_of(snapshot):
    """The snapshot's content: insta writes a `---` header block first."""
    text = open(snapshot, encoding="utf-8").read()
    parts = text.split("---\n", 2)
    return parts[2] if text.startswith("---\n") and len(parts) == 3 else text


def render(md):
    return cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)


def check(snapshot):
    md = markdown_of(snapshot)
    page = render(md)
    problems = []
    for block in re.findall(r"<pre[^>]*><code[^>]*>(.*?)</code></pre>", page, re.S):
        for line in html.unescape(block).split("\n"):
            if len(line) > MAX_LINE:
                problems.append(f"a code line of {len(line)} characters: {line[:60]}…")
    destroys = re.search(r"^\| `-(/\+)?` (delete|replace) \|", md, re.M)
    if destroys and "<blockquote>\n<p>[!CAUTION]" not in page:
        problems.append("deletes or replaces, and no [!CAUTION] callout")
    for block in re.findall(r'<pre lang="diff"><code>(.*?)</code></pre>', page, re.S):
        for line in html.unescape(block).rstrip("\n").split("\n"):
            if line and line[0] not in "-+ ":
                problems.append(f"a diff line without its sign: {line[:60]}")
    return problems


def main(snapshots):
    passed = failed = 0
    for snapshot in snapshots:
        problems = check(snapshot)
        for p in problems:
            print(f"{snapshot}: {p}")
        if problems:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not snapshots else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
