// CityJSON (1.0-2.0) to one three.js geometry: vertices with the file's
// transform, every surface (with its holes) triangulated with three's
// ShapeUtils (earcut) after projecting it onto its own plane, coloured by
// city object type. The highest LoD of each object is drawn. Work is split
// into slices with a pause between them, so a large file does not freeze the page.

const COLOURS = {
  Building: 0xd8cfc0, BuildingPart: 0xd8cfc0, BuildingInstallation: 0xc9bba5,
  Bridge: 0x9a8f80, BridgePart: 0x9a8f80, Tunnel: 0x7d7468,
  Road: 0x9a9a9a, Railway: 0x7a6a5a, TransportSquare: 0xb0b0b0, Waterway: 0x6fa8dc,
  WaterBody: 0x6fa8dc, PlantCover: 0x7fb069, SolitaryVegetationObject: 0x4f8a3c,
  LandUse: 0xcfd8a0, TINRelief: 0xc2b280, CityFurniture: 0x8e7cc3, GenericCityObject: 0xb4a7d6,
};
const DEFAULT_COLOUR = 0xbbbbbb;
const SLICE = 4000; // surfaces between pauses

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

export async function cityjsonToGeometry(doc, THREE, pause) {
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
  const positions = [];
  const colours = [];
  const types = {};
  const lods = new Set();
  let objectCount = 0;
  let surfaceCount = 0;
  let skipped = 0;
  let sinceBreak = 0;
  const colour = new THREE.Color();
  const normal = new THREE.Vector3();

  const point = (i) => [xyz[i * 3] - cx, xyz[i * 3 + 1] - cy, xyz[i * 3 + 2] - cz];

  function triangulate(surface) {
    const rings = surface.map((ring) => ring.map(point));
    const outer = rings[0];
    if (!outer || outer.length < 3) return false;
    // Newell's normal of the outer ring picks the plane to project onto
    normal.set(0, 0, 0);
    for (let i = 0; i < outer.length; i++) {
      const a = outer[i];
      const b = outer[(i + 1) % outer.length];
      normal.x += (a[1] - b[1]) * (a[2] + b[2]);
      normal.y += (a[2] - b[2]) * (a[0] + b[0]);
      normal.z += (a[0] - b[0]) * (a[1] + b[1]);
    }
    const ax = Math.abs(normal.x);
    const ay = Math.abs(normal.y);
    const az = Math.abs(normal.z);
    const [u, w] = az >= ax && az >= ay ? [0, 1] : ax >= ay ? [1, 2] : [0, 2];
    const flat = (ring) => ring.map((p) => new THREE.Vector2(p[u], p[w]));
    const all = rings.length === 1 ? outer : rings.flat();
    let faces;
    if (rings.length === 1 && convex(outer, u, w)) {
      // the common case (walls, flat roofs): a convex ring is a fan, no earcut needed
      faces = [];
      for (let k = 1; k < outer.length - 1; k++) faces.push([0, k, k + 1]);
    } else {
      faces = THREE.ShapeUtils.triangulateShape(flat(outer), rings.slice(1).map(flat));
    }
    for (const face of faces) {
      for (const k of face) {
        const p = all[k];
        positions.push(p[0], p[2], -p[1]);
        colours.push(colour.r, colour.g, colour.b);
      }
    }
    return faces.length > 0;
  }

  for (const [, object] of Object.entries(doc.CityObjects || {})) {
    objectCount += 1;
    types[object.type] = (types[object.type] || 0) + 1;
    const geometries = (object.geometry || []).filter((g) => surfacesOf(g) !== null);
    if (!geometries.length) continue;
    const best = geometries.reduce((a, b) => (lodValue(b) > lodValue(a) ? b : a));
    if (best.lod !== undefined) lods.add(String(best.lod));
    colour.setHex(COLOURS[object.type] ?? DEFAULT_COLOUR);
    for (const surface of surfacesOf(best)) {
      surfaceCount += 1;
      try {
        if (!triangulate(surface)) skipped += 1;
      } catch (e) {
        skipped += 1; // a broken surface (bad index, degenerate ring) is left out
      }
      if (++sinceBreak >= SLICE) {
        sinceBreak = 0;
        await pause();
      }
    }
  }
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(positions, 3));
  geometry.setAttribute('color', new THREE.Float32BufferAttribute(colours, 3));
  geometry.computeVertexNormals();
  const meta = doc.metadata || {};
  const crs = meta.referenceSystem || meta.crs || '';
  return {
    geometry, objectCount, surfaceCount, skipped, types,
    lods: [...lods].sort(), crs: String(crs).replace(/^https?:\/\/www\.opengis\.net\/def\/crs\//, ''),
    extent: meta.geographicalExtent && meta.geographicalExtent.length === 6 ? meta.geographicalExtent : ext,
  };
}
