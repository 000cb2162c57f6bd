// The CityJSON reader of the 3D view as a Web Worker: fetches the file (with
// progress), parses it and triangulates it off the page's thread, and posts
// the triangles in chunks (transferred, not copied) so the page draws the first
// part of the model while the rest is built. Bundled by esbuild into
// build/cityjson_worker.txt, which view3d.js embeds and starts from a blob: URL
// (served by the portal itself: no CDN).
import { ShapeUtils, Vector2 } from 'three';
import { buildCityJSON } from './cityjson.js';

async function load(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) {
    postMessage({ type: 'http', status: response.status });
    return;
  }
  const total = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  let said = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    if (loaded - said > 1e6) {
      said = loaded;
      postMessage({ type: 'progress', loaded, total });
    }
  }
  postMessage({ type: 'reading' });
  const doc = JSON.parse(await new Blob(chunks).text());
  chunks.length = 0;
  postMessage({ type: 'building' });
  const summary = await buildCityJSON(doc, { ShapeUtils, Vector2 }, {
    onExtent: (box) => postMessage({ type: 'extent', box }),
    onChunk: async (chunk) => {
      postMessage({ type: 'chunk', ...chunk }, [chunk.positions.buffer, chunk.normals.buffer, chunk.colours.buffer]);
    },
  });
  postMessage({ type: 'done', summary });
}

self.onmessage = (event) => {
  load(event.data.url).catch((e) => postMessage({ type: 'error', message: e && e.message ? e.message : String(e) }));
};
