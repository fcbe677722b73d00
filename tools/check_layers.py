#!/usr/bin/env python3
"""Checks the layering of crowdiff's C++ sources (docs/ARCHITECTURE.md, "Layers"). It reads every
#include and fails on a dependency the architecture forbids, for example the store including an actor, a
kernel including a model, or an actor including HTTP code.

    tools/check_layers.py [ROOT]     exit 0 when clean; otherwise each violation (file:line: what, why), exit 1
    tools/check_layers.py --self-test

scripts/test.sh runs both before it builds anything. Plain Python, standard library only.
"""
import os
import re
import sys
import tempfile

SOURCE_SUFFIXES = (".hpp", ".cpp", ".h", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

# Each layer and the project folders its sources may include ("crowdiff/" is the generated protocol buffers
# and the public client header). Folders not listed (apps, benchmarks, tests, tools) may include anything.
LAYERS = {
    "common": {"common"},
    "kernels": {"kernels", "common"},
    "models": {"models", "kernels", "common"},
    "persistence": {"persistence", "common", "crowdiff"},
    "config": {"config", "common", "crowdiff"},
    "protocol": {"protocol", "common", "crowdiff"},
    "network": {"network", "protocol", "common", "crowdiff"},
    "actors": {"actors", "protocol", "network", "common", "crowdiff", "persistence", "config", "models", "kernels"},
    "gateway": {"gateway", "actors", "protocol", "network", "common", "crowdiff", "persistence", "config",
                "models"},
    "client": {"client", "protocol", "network", "common", "crowdiff"},
}

# The Scheduler's functional core (crowdiff_scheduling): what its actor carries out, tested and benchmarked alone.
SCHEDULING = ("actors/scheduler/allocator", "actors/scheduler/job_queue", "actors/scheduler/worker_pool",
              "actors/scheduler/task.hpp", "actors/scheduler/features.hpp", "actors/scheduler/uptime_pay")

# The Broker's and the Ledger's functional cores: CAF-free logic whose events return what their actors carry
# out (docs/ARCHITECTURE.md). They may read and write the store's tables, but know no actor.
BROKER_CORE = ("actors/broker/job_book", "actors/broker/job_transitions", "actors/broker/admission",
               "actors/broker/delivery_stats", "actors/broker/job_status", "actors/broker/request_validation")
LEDGER_CORE = ("actors/ledger/accounting", "actors/ledger/pricing")
CORE_MAY_USE = ("common/", "crowdiff/", "persistence/", "protocol/messages.hpp", "models/sampling/sampler_table.hpp",
                "models/image/image_format.hpp")

# Files that must not include CAF: (file path prefixes, why).
CAF_FREE = [
    (SCHEDULING, "the Scheduler's functional core knows no actors"),
    (BROKER_CORE, "the Broker's functional core knows no actors"),
    (LEDGER_CORE, "the Ledger's functional core knows no actors"),
]

# Sublayers with narrower rules: (file path prefixes, allowed project include prefixes, why).
NARROWER = [
    (SCHEDULING, SCHEDULING + ("common/", "crowdiff/"),
     "the allocator and its tables are plain C++: no actor, no store, no models"),
    ("actors/ledger/pricing", ("actors/ledger/pricing", "common/", "crowdiff/", "models/sampling/sampler_table.hpp"),
     "pricing is a pure function of a request"),
    (BROKER_CORE, BROKER_CORE + LEDGER_CORE + CORE_MAY_USE,
     "the Broker's functional core uses only itself, the Ledger's rules, the store's tables and plain values"),
    (LEDGER_CORE, LEDGER_CORE + CORE_MAY_USE,
     "the Ledger's functional core uses only itself, the store's tables and plain values"),
]

# Third-party headers a layer must not use: (folder, include prefix, why).
FORBIDDEN_SYSTEM = [
    ("common", "caf/", "common knows no actors"),
    ("kernels", "caf/", "kernels know no actors"),
    ("models", "caf/", "models know no actors"),
    ("persistence", "caf/", "the store knows no actors"),
    ("actors", "boost/beast", "the actors know no HTTP"),
    ("protocol", "boost/", "the protocol is CAF's messages only"),
    ("network", "boost/beast", "the transport knows no HTTP"),
    ("models", "lmdb", "models know no store"),
    ("kernels", "lmdb", "kernels know no store"),
]


def project_folder(include):
    """The project folder an include names, or None for a third-party or system header."""
    first = include.split("/", 1)[0]
    if "/" not in include:
        return None
    return first


def sources(root):
    for top in LAYERS:
        base = os.path.join(root, top)
        for dirpath, _, files in os.walk(base):
            for name in files:
                if name.endswith(SOURCE_SUFFIXES):
                    yield top, os.path.join(dirpath, name)


def check(root):
    known = set(LAYERS) | {"apps", "benchmarks", "tests", "tools", "crowdiff", "proto"}
    violations = []
    for layer, path in sources(root):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                quoted, include = m.group(1) == '"', m.group(2)
                for folder, prefix, why in FORBIDDEN_SYSTEM:
                    if layer == folder and include.startswith(prefix):
                        violations.append(f"{rel}:{number}: includes <{include}>: {why}")
                for prefixes, why in CAF_FREE:
                    if rel.startswith(prefixes) and include.startswith("caf/"):
                        violations.append(f"{rel}:{number}: includes <{include}>: {why}")
                if not quoted:
                    continue
                folder = project_folder(include)
                if folder is None or folder not in known:
                    continue  # a header beside this one, or a third-party header in quotes
                if folder not in LAYERS[layer]:
                    violations.append(f"{rel}:{number}: includes \"{include}\": {layer}/ may include only "
                                      + ", ".join(sorted(LAYERS[layer])))
                    continue
                for prefix, allowed, why in NARROWER:
                    if rel.startswith(prefix) and not include.startswith(allowed):
                        violations.append(f"{rel}:{number}: includes \"{include}\": {why}")
    return violations


def self_test():
    """A tree with one forbidden include per rule kind must fail, and a clean one must pass."""
    cases = {
        "persistence/store.cpp": '#include "actors/broker/broker_actor.hpp"\n',
        "kernels/op.cpp": '#include "models/unet/unet.hpp"\n',
        "actors/broker/x.cpp": '#include "gateway/http_server.hpp"\n',
        "actors/worker/y.cpp": "#include <boost/beast/http.hpp>\n",
        "models/z.cpp": "#include <caf/all.hpp>\n",
        "actors/scheduler/allocator.cpp": '#include "persistence/store.hpp"\n',
        "client/c.cpp": '#include "actors/broker/broker_actor.hpp"\n',
        "network/n.cpp": '#include "actors/session/entrance.hpp"\n',
        "protocol/p.cpp": '#include "persistence/store.hpp"\n',
        "actors/broker/job_book.cpp": "#include <caf/all.hpp>\n",
        "actors/ledger/accounting.cpp": '#include "actors/ledger/ledger_state.hpp"\n',
    }
    clean = {
        "models/ok.cpp": '#include "kernels/backend.hpp"\n#include "common/status.hpp"\n#include <vector>\n',
        "client/ok.cpp": '#include "protocol/interfaces.hpp"\n#include "network/network_setup.hpp"\n',
        "apps/ok.cpp": '#include "gateway/gateway.hpp"\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in clean.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        if check(root):
            print("check_layers self-test: a clean tree was refused:", check(root))
            return 1
        for rel, text in cases.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        found = check(root)
        caught = {v.split(":", 1)[0] for v in found}
        missed = sorted(set(cases) - caught)
        if missed:
            print("check_layers self-test: these forbidden includes were not caught:", missed)
            return 1
    print(f"check_layers self-test: {len(cases)} forbidden includes caught, the clean tree passed")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    violations = check(root)
    for v in violations:
        print(v)
    if violations:
        print(f"check_layers: {len(violations)} includes break the layering (docs/ARCHITECTURE.md, Layers)")
        return 1
    print("check_layers: every #include respects the layering")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
