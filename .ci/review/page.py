"""Renders Markdown as a GitHub comment looks, for screenshots (docs/*.png): cmark-gfm HTML
(GitHub's renderer), alerts (`> [!CAUTION]`) turned into GitHub's alert boxes, and a CSS
close to GitHub's light theme in a 900-pixel comment column.

    python page.py IN.md|IN.snap OUT.html [--open]

`--open` opens every fold, as a reviewer who clicked each one sees the comment.
"""

import re
import sys

import cmarkgfm
from cmarkgfm.cmark import Options

from markdown import markdown_of

CSS = """
body { margin: 0; background: #fff; }
.comment { width: 900px; margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
        font: 14px -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #59636e; }
.body { padding: 16px; font: 14px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
        color: #1f2328; overflow-wrap: break-word; }
h3 { font-size: 1.25em; margin: 0 0 16px; }
h4 { font-size: 1em; margin: 24px 0 16px; }
p, ul, table, pre, details, blockquote { margin: 0 0 16px; }
ul { padding-left: 2em; }
li + li { margin-top: .25em; }
code { font: 85% ui-monospace, "DejaVu Sans Mono", monospace; background: #818b981f;
       padding: .2em .4em; border-radius: 6px; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto;
      font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
pre code { background: none; padding: 0; font-size: 100%; }
pre .del { color: #82071e; background: #ffebe9; display: inline-block; width: 100%; }
pre .ins { color: #116329; background: #dafbe1; display: inline-block; width: 100%; }
table { border-collapse: collapse; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; }
tr:nth-child(2n) { background: #f6f8fa; }
details summary { cursor: pointer; }
blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
.alert { padding: 8px 16px; border-left: .25em solid; margin-bottom: 16px; }
.alert > :last-child { margin-bottom: 0; }
.alert-title { font-weight: 500; margin-bottom: 4px; }
.alert-caution { border-color: #cf222e; } .alert-caution .alert-title { color: #d1242f; }
.alert-warning { border-color: #9a6700; } .alert-warning .alert-title { color: #9a6700; }
.alert-note { border-color: #0969da; } .alert-note .alert-title { color: #0969da; }
"""


def alerts(page):
    """`<blockquote><p>[!KIND]…` as GitHub shows it: a coloured box with a title."""

    def box(m):
        kind, rest = m.group(1), m.group(2)
        return (
            f'<div class="alert alert-{kind.lower()}"><p class="alert-title">'
            f"{kind.title()}</p><p>{rest}</div>"
        )

    return re.sub(
        r"<blockquote>\n<p>\[!(CAUTION|WARNING|NOTE|TIP|IMPORTANT)\]\n?(.*?)</blockquote>",
        box,
        page,
        flags=re.S,
    )


def diff_colours(page):
    """GitHub colours the `-` and `+` lines of a `diff` block."""

    def block(m):
        lines = m.group(1).split("\n")
        out = []
        for line in lines:
            if line.startswith("-"):
                out.append(f'<span class="del">{line}</span>')
            elif line.startswith("+"):
                out.append(f'<span class="ins">{line}</span>')
            else:
                out.append(line)
        return '<pre lang="diff"><code>' + "\n".join(out) + "</code></pre>"

    return re.sub(r'<pre lang="diff"><code>(.*?)</code></pre>', block, page, flags=re.S)


def main(src, out, open_all=False):
    md = markdown_of(src)
    body = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    if open_all:
        body = body.replace("<details>", "<details open>")
    body = diff_colours(alerts(body))
    html = (
        f"<!doctype html><meta charset=utf-8><style>{CSS}</style>"
        f'<div class="comment"><div class="head">github-actions (bot) commented</div>'
        f'<div class="body">{body}</div></div>'
    )
    open(out, "w", encoding="utf-8").write(html)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--open" in sys.argv[3:])
