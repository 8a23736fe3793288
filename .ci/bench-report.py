#!/usr/bin/env python3
"""Prints criterion's mean times for the token benchmarks and their throughput ratios."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion") / "verify_access_token"
means = {}
for estimates in sorted(root.glob("*/new/estimates.json")):
    means[estimates.parent.parent.name] = json.loads(estimates.read_text())["mean"]["point_estimate"]
if "bare_rsa_aws_lc_rs" not in means:
    sys.exit(f"no criterion results under {root}")
bare = means["bare_rsa_aws_lc_rs"]
print(f"{'benchmark':<24}{'mean':>12}{'per second':>14}{'vs bare RSA':>13}")
for name, ns in means.items():
    print(f"{name:<24}{ns / 1000:>10.2f}µs{1e9 / ns:>14,.0f}{bare / ns:>13.2f}")
ratio = bare / means.get("cognigraph_verify", float("inf"))
print(f"cognigraph_verify reaches {ratio:.0%} of the bare signature check's throughput (goal: 93%)")
if "cognigraph_verify_repeated" in means:
    print(f"a repeated token (verified-token cache) costs {means['cognigraph_verify_repeated'] / 1000:.2f}µs")
