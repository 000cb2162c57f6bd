// CityJSON (1.0-2.0) to triangles for three.js: vertices with the file's
// transform, every surface (with its holes) triangulated with three's
// ShapeUtils (earcut) after projecting it onto its own plane, coloured by
// city object type, with flat normals. The highest LoD of each object is drawn.
//
// buildCityJSON hands the triangles out in chunks (typed arrays, ready to be
// transferred from a Web Worker: cityjson_worker.js runs it there, so the page
// stays responsive and the first chunk is drawn while the rest is built);
// cityjsonToGeometry is the same on the page's own thread (no Worker).

const COLOURS = {
  Building: 0xd8cfc0, BuildingPart: 0xd8cfc0, BuildingInstallation: 0xc9bba5,
  Bridge: 0x9a8f80, BridgePart: 0x9a8f80, Tunnel: 0x7d7468,
  Road: 0x9a9a9a, Railway: 0x7a6a5a, TransportSquare: 0xb0b0b0, Waterway: 0x6fa8dc,
  WaterBody: 0x6fa8dc, PlantCover: 0x7fb069, SolitaryVegetationObject: 0x4f8a3c,
  LandUse: 0xcfd8a0, TINRelief: 0xc2b280, CityFurniture: 0x8e7cc3, GenericCityObject: 0xb4a7d6,
};
const DEFAULT_COLOUR = 0xbbbbbb;
const SLICE = 4000; // surfaces between pauses (page thread only)
const FIRST_CHUNK = 3000; // surfaces in the first chunk: drawn early
const CHUNK = 60000; // surfaces in every later chunk

function surfacesOf(geometry) {
  const b = geometry.boundaries || [];
  switch (geometry.type) {
    case 'MultiSurface':
    case 'CompositeSurface':
      return b;
    case 'Solid':
      return b.flat(1);
    case 'MultiSolid':
    case 'CompositeSolid':
      return b.flat(2);
    default:
      return null; // points, lines, template instances: not drawn
  }
}

function convex(ring, u, w) {
  let sign = 0;
  const n = ring.length;
  for (let i = 0; i < n; i++) {
    const a = ring[i];
    const b = ring[(i + 1) % n];
    const c = ring[(i + 2) % n];
    const cross = (b[u] - a[u]) * (c[w] - b[w]) - (b[w] - a[w]) * (c[u] - b[u]);
    if (cross !== 0) {
      if (sign === 0) sign = Math.sign(cross);
      else if (Math.sign(cross) !== sign) return false;
    }
  }
  return sign !== 0;
}

function lodValue(geometry) {
  const n = parseFloat(geometry.lod);
  return Number.isFinite(n) ? n : -1;
}

// three.js treats vertex colours as linear; the table is sRGB (as THREE.Color.setHex converts)
function linear(c) {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

function rgb(hex) {
  return [linear(((hex >> 16) & 255) / 255), linear(((hex >> 8) & 255) / 255), linear((hex & 255) / 255)];
}

// a growing Float32Array (no JS array of millions of numbers)
class Floats {
  constructor(capacity) {
    this.data = new Float32Array(capacity);
    this.length = 0;
  }

  push3(a, b, c) {
    if (this.length + 3 > this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = a;
    this.data[this.length++] = b;
    this.data[this.length++] = c;
  }

  take() {
    const out = this.data.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

// ShapeUtils, Vector2: three.js's (the Worker bundles only these)
export async function buildCityJSON(doc, { ShapeUtils, Vector2 }, { onExtent, onChunk, pause }) {
  const transform = doc.transform || { scale: [1, 1, 1], translate: [0, 0, 0] };
  const [sx, sy, sz] = transform.scale;
  const [tx, ty, tz] = transform.translate;
  const raw = doc.vertices || [];
  const n = raw.length;
  const xyz = new Float64Array(n * 3);
  const ext = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    const x = v[0] * sx + tx;
    const y = v[1] * sy + ty;
    const z = v[2] * sz + tz;
    xyz[i * 3] = x; xyz[i * 3 + 1] = y; xyz[i * 3 + 2] = z;
    if (x < ext[0]) ext[0] = x; if (y < ext[1]) ext[1] = y; if (z < ext[2]) ext[2] = z;
    if (x > ext[3]) ext[3] = x; if (y > ext[4]) ext[4] = y; if (z > ext[5]) ext[5] = z;
  }
  if (!n) ext.fill(0);
  // drawn around the model's centre (float32 keeps centimetres there), z up -> y up
  const cx = (ext[0] + ext[3]) / 2;
  const cy = (ext[1] + ext[4]) / 2;
  const cz = ext[2];
  // the box the model fills, in the drawing's coordinates (x, y up, z)
  if (onExtent) onExtent([ext[0] - cx, 0, -(ext[4] - cy), ext[3] - cx, ext[5] - cz, -(ext[1] - cy)]);
  const positions = new Floats(1 << 18);
  const normals = new Floats(1 << 18);
  const colours = new Floats(1 << 18);
  const types = {};
  const lods = new Set();
  let objectCount = 0;
  let surfaceCount = 0;
  let skipped = 0;
  let sinceBreak = 0;
  let inChunk = 0;
  let chunkSize = FIRST_CHUNK;
  let colour = rgb(DEFAULT_COLOUR);

  const point = (i) => [xyz[i * 3] - cx, xyz[i * 3 + 1] - cy, xyz[i * 3 + 2] - cz];

  async function flush() {
    if (!positions.length) return;
    await onChunk({ positions: positions.take(), normals: normals.take(), colours: colours.take() });
    inChunk = 0;
    chunkSize = CHUNK;
  }

  function triangulate(surface) {
    const rings = surface.map((ring) => ring.map(point));
    const outer = rings[0];
    if (!outer || outer.length < 3) return false;
    // Newell's normal of the outer ring picks the plane to project onto
    let nx = 0;
    let ny = 0;
    let nz = 0;
    for (let i = 0; i < outer.length; i++) {
      const a = outer[i];
      const b = outer[(i + 1) % outer.length];
      nx += (a[1] - b[1]) * (a[2] + b[2]);
      ny += (a[2] - b[2]) * (a[0] + b[0]);
      nz += (a[0] - b[0]) * (a[1] + b[1]);
    }
    const ax = Math.abs(nx);
    const ay = Math.abs(ny);
    const az = Math.abs(nz);
    const [u, w] = az >= ax && az >= ay ? [0, 1] : ax >= ay ? [1, 2] : [0, 2];
    const all = rings.length === 1 ? outer : rings.flat();
    let faces;
    if (rings.length === 1 && convex(outer, u, w)) {
      // the common case (walls, flat roofs): a convex ring is a fan, no earcut needed
      faces = [];
      for (let k = 1; k < outer.length - 1; k++) faces.push([0, k, k + 1]);
    } else {
      const flat = (ring) => ring.map((p) => new Vector2(p[u], p[w]));
      faces = ShapeUtils.triangulateShape(flat(outer), rings.slice(1).map(flat));
    }
    for (const face of faces) {
      const p0 = all[face[0]];
      const p1 = all[face[1]];
      const p2 = all[face[2]];
      if (!p0 || !p1 || !p2) continue;
      // flat normal of the triangle, in the drawing's axes (x, z, -y)
      const e1 = [p1[0] - p0[0], p1[2] - p0[2], -(p1[1] - p0[1])];
      const e2 = [p2[0] - p0[0], p2[2] - p0[2], -(p2[1] - p0[1])];
      let fx = e1[1] * e2[2] - e1[2] * e2[1];
      let fy = e1[2] * e2[0] - e1[0] * e2[2];
      let fz = e1[0] * e2[1] - e1[1] * e2[0];
      const len = Math.hypot(fx, fy, fz) || 1;
      fx /= len; fy /= len; fz /= len;
      for (const p of [p0, p1, p2]) {
        positions.push3(p[0], p[2], -p[1]);
        normals.push3(fx, fy, fz);
        colours.push3(colour[0], colour[1], colour[2]);
      }
    }
    return faces.length > 0;
  }

  for (const key in doc.CityObjects || {}) {
    const object = doc.CityObjects[key];
    objectCount += 1;
    types[object.type] = (types[object.type] || 0) + 1;
    const geometries = (object.geometry || []).filter((g) => surfacesOf(g) !== null);
    if (!geometries.length) continue;
    const best = geometries.reduce((a, b) => (lodValue(b) > lodValue(a) ? b : a));
    if (best.lod !== undefined) lods.add(String(best.lod));
    colour = rgb(COLOURS[object.type] ?? DEFAULT_COLOUR);
    for (const surface of surfacesOf(best)) {
      surfaceCount += 1;
      try {
        if (!triangulate(surface)) skipped += 1;
      } catch (e) {
        skipped += 1; // a broken surface (bad index, degenerate ring) is left out
      }
      if (++inChunk >= chunkSize) await flush();
      if (pause && ++sinceBreak >= SLICE) {
        sinceBreak = 0;
        await pause();
      }
    }
  }
  await flush();
  const meta = doc.metadata || {};
  const crs = meta.referenceSystem || meta.crs || '';
  return {
    objectCount, surfaceCount, skipped, types,
    lods: [...lods].sort(), crs: String(crs).replace(/^https?:\/\/www\.opengis\.net\/def\/crs\//, ''),
    extent: meta.geographicalExtent && meta.geographicalExtent.length === 6 ? meta.geographicalExtent : ext,
  };
}

// On the page's thread (no Worker): one geometry of all chunks.
export async function cityjsonToGeometry(doc, THREE, pause) {
  const parts = [];
  const summary = await buildCityJSON(doc, THREE, { onChunk: async (chunk) => { parts.push(chunk); }, pause });
  const join = (key) => {
    const total = parts.reduce((sum, p) => sum + p[key].length, 0);
    const out = new Float32Array(total);
    let at = 0;
    for (const p of parts) { out.set(p[key], at); at += p[key].length; }
    return out;
  };
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.BufferAttribute(join('positions'), 3));
  geometry.setAttribute('normal', new THREE.BufferAttribute(join('normals'), 3));
  geometry.setAttribute('color', new THREE.BufferAttribute(join('colours'), 3));
  return { geometry, ...summary };
}
