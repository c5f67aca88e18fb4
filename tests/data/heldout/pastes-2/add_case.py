"""Write one real-paste case: `python add_case.py NAME --url U --envelope E --codes R14,H12 --root R14
[--provider P] --why "..." < paste.txt`. The text is read from stdin and kept as is
(only trailing spaces at line ends are dropped)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


class _Block(str):
    pass


def _block(dumper: yaml.Dumper, value: _Block):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.add_representer(_Block, _block, Dumper=yaml.SafeDumper)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--url", required=True)
    p.add_argument("--envelope", required=True)
    p.add_argument("--codes", default="")
    p.add_argument("--root", required=True)
    p.add_argument("--provider", default=None)
    p.add_argument("--why", required=True)
    a = p.parse_args()
    text = sys.stdin.read()
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"
    data = {
        "url": a.url,
        "envelope": a.envelope,
        "expected": {
            "codes": [c.strip() for c in a.codes.split(",") if c.strip()],
            "root": a.root,
            "provider": a.provider,
            "why": a.why,
        },
        "text": _Block(text),
    }
    out = Path(__file__).parent / f"{a.name}.yml"
    if out.exists():
        sys.exit(f"{out.name} exists already")
    dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    if yaml.safe_load(dumped)["text"] != text:
        sys.exit("the text does not survive YAML exactly; check for unusual characters")
    out.write_text(dumped, encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
