#!/usr/bin/env python3
"""Checks the relative links of Markdown files: the file or folder each points at exists, and a
`#anchor` names a heading of that file as GitHub renders it. Links to other sites are not fetched.

    scripts/check_links.py README.md docs/*.md

Exits 1 and lists every broken link (file:line, target, why) when there is one.
"""
import functools
import os
import re
import sys

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<a\s+href=\"([^\"]+)\"")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line


def slug(heading):
    """GitHub's anchor for a heading: markup and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_~]|<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


@functools.cache
def anchors(path):
    """The anchors of a file's headings (a repeated heading gets `-1`, `-2`...) and `<a name|id>`s."""
    found, seen = set(), {}
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", line))
    return found


def links(path):
    """(line number, target) of every link outside code."""
    for number, line in prose_lines(path):
        for match in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            yield number, match.group(1) or match.group(2)


def broken_links(path):
    for number, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto: ...
        file_part, _, anchor = target.partition("#")
        destination = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(destination):
            yield number, target, f"{destination} does not exist"
        elif anchor and destination.endswith(".md") and anchor not in anchors(destination):
            yield number, target, f"{destination} has no heading with the anchor #{anchor}"


def main(paths):
    problems = [f"{path}:{number}: ({target}) {why}" for path in paths for number, target, why in broken_links(path)]
    for problem in problems:
        print(problem, file=sys.stderr)
    checked = sum(1 for path in paths for _ in links(path))
    print(f"{len(paths)} files, {checked} links, {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
