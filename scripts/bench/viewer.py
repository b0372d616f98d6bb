#!/usr/bin/env python3
"""Viewer benchmark: the page of a 500-target coadd, its size, the time `desispec view` takes to write it, and its
load time in Debian's headless chromium (through chromedriver's WebDriver HTTP interface, no Python package needed).

The coadd is made by our own pipeline from simulated cframes (scripts/compare_coadd.py make_cframes: b/r/z on the
0.8 A grids, NFIBER fibers, one exposure, written with desispec.io.write_frame): `desispec spectra` then
`desispec coadd`. Load time: from the navigation's start to the viewer's first plot drawn (window.desiViewer.readyMs,
performance.now() after the first target is plotted), and the page's loadEventEnd; the median of NLOAD loads.
usage: /work/refenv/bin/python scripts/bench/viewer.py --bin PATH/desispec [--nfiber 500] [--nload 5] [--workdir DIR]
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from compare_coadd import make_cframes


def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p


def call(base, method, path, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())['value']


def load_times(page, nload):
    chromium = shutil.which('chromium') or '/usr/bin/chromium'
    driver = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    port = free_port()
    proc = subprocess.Popen([driver, f'--port={port}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(100):
            try:
                call(base, 'GET', '/status', timeout=2); break
            except OSError:
                time.sleep(0.1)
        caps = {'capabilities': {'alwaysMatch': {'browserName': 'chrome', 'goog:chromeOptions': {
            'binary': chromium, 'args': ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                                         '--window-size=1280,1000']}}}}
        sid = call(base, 'POST', '/session', caps)['sessionId']
        url = 'file://' + os.path.abspath(page)
        ready, loaded, wall = [], [], []
        for _ in range(nload):
            call(base, 'POST', f'/session/{sid}/url', {'url': 'about:blank'})
            t0 = time.time()
            call(base, 'POST', f'/session/{sid}/url', {'url': url})
            wall.append(time.time() - t0)
            v = call(base, 'POST', f'/session/{sid}/execute/sync', {'script': '''
                var n = performance.getEntriesByType("navigation")[0];
                return [window.desiViewer.readyMs, n.loadEventEnd, window.desiViewer.targetCount(), window.desiViewer.pointCount()];''',
                'args': []})
            ready.append(v[0] / 1000); loaded.append(v[1] / 1000)
            targets, points = v[2], v[3]
        call(base, 'DELETE', f'/session/{sid}')
        return ready, loaded, wall, targets, points
    finally:
        proc.terminate(); proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--nfiber', type=int, default=500)
    ap.add_argument('--nload', type=int, default=5)
    ap.add_argument('--workdir', default=None)
    a = ap.parse_args()
    wd = a.workdir or tempfile.mkdtemp(prefix='bench-viewer-')
    coadd = os.path.join(wd, f'coadd-0-1000-thru20201214.fits')
    if not os.path.exists(coadd):
        frames = make_cframes(wd, nfiber=a.nfiber, nexp=1)
        spectra = os.path.join(wd, 'spectra-0-1000-thru20201214.fits')
        subprocess.run([a.bin, 'spectra', '--inframes', *frames, '-o', spectra, '-q'], check=True)
        subprocess.run([a.bin, 'coadd', '-i', spectra, '-o', coadd, '--onetile', '-q'], check=True)
    page = os.path.join(wd, 'view-coadd.html')
    t0 = time.time()
    subprocess.run([a.bin, 'view', coadd, '-o', page, '-q'], check=True)
    t_write = time.time() - t0
    ready, loaded, wall, targets, points = load_times(page, a.nload)
    print(f'coadd: {coadd} ({os.path.getsize(coadd) / 1e6:.1f} MB, {targets} targets)')
    print(f'page:  {os.path.getsize(page) / 1e6:.1f} MB, written by `desispec view` in {t_write:.2f} s')
    print(f'load in headless chromium, median of {a.nload}: first plot drawn {statistics.median(ready):.2f} s, '
          f'load event {statistics.median(loaded):.2f} s, WebDriver navigate {statistics.median(wall):.2f} s '
          f'(first target: {points} points)')


if __name__ == '__main__':
    main()
