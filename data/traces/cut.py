#!/usr/bin/env python3
"""Cut an `icosfl data export` CSV into one file per workload window: cut.py ALL.csv OUTDIR WINDOWS.tsv
WINDOWS.tsv lines: name<TAB>from-ISO<TAB>to-ISO (UTC)."""
import csv, sys, datetime as dt
src, out, windows = sys.argv[1], sys.argv[2], sys.argv[3]
def parse(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
wins = [l.rstrip("\n").split("\t") for l in open(windows) if l.strip() and not l.startswith("#")]
rows = list(csv.reader(open(src)))
header, body = rows[0], rows[1:]
for name, a, b in wins:
    a, b = parse(a), parse(b)
    sel = [r for r in body if a <= parse(r[0]) < b]
    with open(f"{out}/{name}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(sel)
    print(name, len(sel), sel[0][0] if sel else "-", sel[-1][0] if sel else "-")
