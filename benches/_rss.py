"""Memory of one workload in a fresh process.

Parent side: ``measure(lib, scenario, data_path)`` runs ``python -m benches._rss LIB
SCENARIO DATA`` and returns the child's JSON. Child side (``main``): import the library,
load the pre-converted input, collect garbage, reset the peak (/proc/self/clear_refs), read
the current RSS (/proc/self/statm), the peak (VmHWM) and ru_maxrss, run the workload, keep
its document alive, read them again, print JSON. The peak is VmHWM: ru_maxrss survives
execve on Linux, so a child of a large parent would report the parent's peak.

Scenarios:
  apply   DATA is a pickle from ``write_apply_input``: the trace as flat arrays (positions,
          delete counts, insert lengths, one concatenated insert string, transaction ends)
          so that loading it costs a few MB instead of the ~100 MB of a list of tuples.
          loro/loro_c commit once at the end; pycrdt runs one transaction per trace txn.
  import  DATA is a pickle (update blob, expected text): a fresh doc imports the blob and
          materialises the text.

This module imports only the standard library and the library under test.
"""
import gc
import importlib
import json
import os
import pickle
import resource
import subprocess
import sys
from array import array

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _hwm():
    """Peak RSS of this address space (VmHWM), or None where /proc lacks it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_hwm():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- parent side

def write_apply_input(path, txns, end):
    """`txns`: list of lists of (pos, n_del, ins) -- in the position unit of the library that
    will read the file."""
    pos, dels, lens, ends, parts = array("q"), array("q"), array("q"), array("q"), []
    for txn in txns:
        for p, d, ins in txn:
            pos.append(p)
            dels.append(d)
            lens.append(len(ins))
            parts.append(ins)
        ends.append(len(pos))
    with open(path, "wb") as f:
        pickle.dump({"pos": pos, "del": dels, "len": lens, "ends": ends,
                     "ins": "".join(parts), "end": end}, f, protocol=pickle.HIGHEST_PROTOCOL)


def write_import_input(path, blob, end):
    with open(path, "wb") as f:
        pickle.dump({"blob": blob, "end": end}, f, protocol=pickle.HIGHEST_PROTOCOL)


def measure(lib, scenario, data_path, timeout=900):
    """Run the child; returns its result dict, or {"error": ...}."""
    # the child must import the same loro_c (and benches) as this process
    import importlib.util
    paths = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    spec = importlib.util.find_spec("loro_c")
    if spec is not None and spec.origin:
        paths.append(os.path.dirname(os.path.dirname(os.path.abspath(spec.origin))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-m", "benches._rss", lib, scenario, data_path],
                          capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {proc.returncode}: {tail[0]}", "stderr": proc.stderr}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- child side

def _apply_loro(mod, d):
    doc = mod.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    insert, delete = text.insert, text.delete
    pos, dels, lens, s = d["pos"], d["del"], d["len"], d["ins"]
    off = 0
    for i in range(len(pos)):
        n = dels[i]
        if n:
            delete(pos[i], n)
        k = lens[i]
        if k:
            insert(pos[i], s[off:off + k])
            off += k
    doc.commit()
    return doc, text.to_string()


def _apply_pycrdt(mod, d):
    doc = mod.Doc(client_id=1)
    text = doc.get("text", type=mod.Text)
    pos, dels, lens, ends, s = d["pos"], d["del"], d["len"], d["ends"], d["ins"]
    off = 0
    start = 0
    for stop in ends:
        if stop - start == 1 and not (dels[start] and lens[start]):
            i = start
            if dels[i]:
                del text[pos[i]:pos[i] + dels[i]]
            else:
                text.insert(pos[i], s[off:off + lens[i]])
                off += lens[i]
        else:
            with doc.transaction():
                for i in range(start, stop):
                    if dels[i]:
                        del text[pos[i]:pos[i] + dels[i]]
                    if lens[i]:
                        text.insert(pos[i], s[off:off + lens[i]])
                        off += lens[i]
        start = stop
    return doc, str(text)


def _import(lib, mod, blob):
    if lib == "pycrdt":
        doc = mod.Doc()
        text = doc.get("text", type=mod.Text)
        doc.apply_update(blob)
        return doc, str(text)
    doc = mod.LoroDoc()
    text = doc.get_text("text")
    doc.import_(blob)
    return doc, text.to_string()


def main(argv):
    lib, scenario, path = argv
    mod = importlib.import_module(lib)
    with open(path, "rb") as f:
        data = pickle.load(f)
    end = data.pop("end")
    gc.collect()
    reset = _reset_hwm()
    rss0, max0, hwm0 = _rss(), _maxrss(), _hwm()
    if scenario == "apply":
        doc, result = (_apply_pycrdt if lib == "pycrdt" else _apply_loro)(mod, data)
    elif scenario == "import":
        doc, result = _import(lib, mod, data["blob"])
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    ok = result == end
    del result
    gc.collect()
    rss1, max1, hwm1 = _rss(), _maxrss(), _hwm()
    # Peak: VmHWM, reset just before the workload. ru_maxrss is reported too, but on Linux
    # it survives execve, so a child forked from a big parent inherits the parent's peak.
    if hwm1 is not None:
        peak, before = hwm1, (rss0 if reset else hwm0)
    else:
        peak, before = max1, max0
    print(json.dumps({"rss_before": rss0, "rss_after": rss1, "maxrss_before": max0,
                      "maxrss_after": max1, "hwm_before": hwm0, "hwm_after": hwm1,
                      "hwm_reset": reset, "delta_rss": rss1 - rss0,
                      "peak_after": peak, "peak_delta": peak - rss0,
                      # the workload did not raise the peak: peak_delta is an upper bound
                      "peak_from_loading": peak <= before and before > rss0, "ok": ok}))
    del doc


if __name__ == "__main__":
    main(sys.argv[1:])
