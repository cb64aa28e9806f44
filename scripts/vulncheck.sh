#!/usr/bin/env bash
# govulncheck (a tool dependency in go.mod) against a pinned copy of the Go
# vulnerability database, built offline from golang.org/x/vulndb's OSV
# files (this machine reaches the Go module proxy, not vuln.go.dev). Bump
# VULNDB_VERSION to see newer reports: go list -m -versions does not list
# pseudo-versions, `go get golang.org/x/vulndb@master` in a scratch module
# prints the newest.
#
# Fails on a vulnerability the code reaches in a module go.mod can upgrade.
# One in the standard library is reported with the Go release that fixes it
# and fails only with VULNCHECK_STDLIB=fail: the toolchain is the machine's,
# not go.mod's (GOTOOLCHAIN=local), so only a newer Go there fixes it.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
db=build/vulndb-$VULNDB_VERSION

if [ ! -f "$db/index/db.json" ]; then
	echo "building the vulnerability database $VULNDB_VERSION into $db"
	src=$($GO mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
	rm -rf "$db.tmp"
	$GO run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$db.tmp"
	mv "$db.tmp" "$db"
fi

$GO tool govulncheck -db "file://$PWD/$db" -format json ./... | python3 -c '
import json, os, sys

# govulncheck -format json writes a stream of JSON objects, one message each.
dec, text, i = json.JSONDecoder(), sys.stdin.read(), 0
osv, reached = {}, {}
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i == len(text):
        break
    msg, i = dec.raw_decode(text, i)
    if "osv" in msg:
        osv[msg["osv"]["id"]] = msg["osv"].get("summary", "")
    f = msg.get("finding")
    # A finding whose trace reaches a function is one the code calls.
    if f and f.get("trace") and f["trace"][0].get("function"):
        module = f["trace"][0]["module"]
        reached[(f["osv"], module)] = (f["trace"][0].get("version", ""), f.get("fixed_version", "none"))

stdlib_fails = os.environ.get("VULNCHECK_STDLIB") == "fail"
failed = False
for (vid, module), (found, fixed) in sorted(reached.items()):
    fatal = module != "stdlib" or stdlib_fails
    failed |= fatal
    level = "FAIL" if fatal else "warn"
    print("%s %s %s@%s, fixed in %s: %s" % (level, vid, module, found, fixed, osv.get(vid, "")))
if not reached:
    print("govulncheck: no vulnerability reached by the code")
elif not failed:
    print("govulncheck: only the standard library above, fixed by a newer Go on this machine")
sys.exit(1 if failed else 0)
'
