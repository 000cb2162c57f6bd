// The 3D preview (udp_view3d): CityJSON (own loader), 3D Tiles
// (3d-tiles-renderer) and glTF/GLB (three's GLTFLoader), drawn with three.js.
// Bundled by esbuild (setup.py vendor_assets) into build/view3d.js, an IIFE the
// webasset serves; nothing is loaded from outside the portal.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { TilesRenderer } from '3d-tiles-renderer';
import { cityjsonToGeometry } from './cityjson.js';
// the Worker's own bundle (esbuild builds it first; setup.py vendor_assets), embedded as text
import WORKER_SOURCE from '../build/cityjson_worker.txt';

const BACKGROUND = 0xf4f6f8;

function t(root, key) {
  return root.dataset['t' + key[0].toUpperCase() + key.slice(1)] || key;
}

function fmt(n, digits = 0) {
  return Number(n).toLocaleString('de-DE', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function sameOrigin(url) {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch (e) {
    return false;
  }
}

// A file may name further files (glTF buffers and textures, tile contents) on other hosts:
// those are never fetched, so a visitor's browser contacts no third party.
function ownOriginOnly(url) {
  return sameOrigin(url) || /^(data|blob):/.test(url) ? url : 'data:,';
}

function yieldToPage() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// WebGL drawn by the CPU (SwiftShader, llvmpipe: no graphics card, or it is switched off)
function softwareWebGL() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') || document.createElement('canvas').getContext('webgl');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || '');
    const lose = gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
  } catch (e) {
    return false;
  }
}

// The CityJSON reader in a Web Worker (null where the browser cannot start one)
function cityjsonWorker() {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined') return null;
  try {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    const worker = new Worker(url);
    worker.blobUrl = url;
    return worker;
  } catch (e) {
    return null;
  }
}

class Viewer {
  constructor(root) {
    this.root = root;
    this.status = root.querySelector('.udp-view3d-status');
    this.summary = root.querySelector('.udp-view3d-summary');
    this.stage = root.querySelector('.udp-view3d-stage');
    this.started = performance.now();
    this.tiles = null;
    // something was added since the last draw (a draw of a large model is slow where
    // WebGL runs on the CPU: never draw the same picture twice)
    this.dirty = true;
  }

  say(text) {
    this.status.textContent = text;
  }

  setup() {
    const width = this.stage.clientWidth || 320;
    const height = this.stage.clientHeight || 320;
    // preserveDrawingBuffer: the drawn picture can be read back (tests, a screenshot).
    // No multisampling where WebGL runs on the CPU: there it made every frame of a large
    // model several times slower (and the page froze while the frame was read back)
    this.renderer = new THREE.WebGLRenderer({ antialias: !softwareWebGL(), preserveDrawingBuffer: true });
    this.root.dataset.antialias = String(this.renderer.getContextAttributes().antialias);
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.setSize(width, height);
    this.renderer.setClearColor(BACKGROUND);
    const canvas = this.renderer.domElement;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', t(this.root, 'canvasLabel'));
    canvas.setAttribute('aria-describedby', this.summary.id);
    canvas.tabIndex = 0;
    this.stage.appendChild(canvas);
    this.scene = new THREE.Scene();
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x667788, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(0.5, 1, 0.8);
    this.scene.add(sun);
    this.camera = new THREE.PerspectiveCamera(45, width / height, 0.1, 1e7);
    this.camera.position.set(100, 100, 100);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = false;
    this.controls.addEventListener('change', () => this.draw());
    canvas.addEventListener('keydown', (event) => this.key(event));
    this.root.querySelectorAll('[data-action]').forEach((button) => {
      button.addEventListener('click', () => this.act(button.dataset.action));
    });
    new ResizeObserver(() => this.resize()).observe(this.stage);
  }

  resize() {
    const width = this.stage.clientWidth;
    const height = this.stage.clientHeight;
    if (!width || !height) return;
    this.renderer.setSize(width, height);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.draw();
  }

  // arrows turn and tilt, + and - zoom, 0 resets (the buttons do the same)
  key(event) {
    const keys = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down',
      '+': 'in', '=': 'in', '-': 'out', '0': 'reset' };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    this.act(action);
  }

  act(action) {
    if (action === 'reset') {
      this.controls.reset();
      this.draw();
      return;
    }
    const offset = this.camera.position.clone().sub(this.controls.target);
    const sph = new THREE.Spherical().setFromVector3(offset);
    const step = Math.PI / 12;
    if (action === 'left') sph.theta -= step;
    if (action === 'right') sph.theta += step;
    if (action === 'up') sph.phi = Math.max(0.05, sph.phi - step);
    if (action === 'down') sph.phi = Math.min(Math.PI - 0.05, sph.phi + step);
    if (action === 'in') sph.radius *= 0.8;
    if (action === 'out') sph.radius *= 1.25;
    offset.setFromSpherical(sph);
    this.camera.position.copy(this.controls.target).add(offset);
    this.camera.lookAt(this.controls.target);
    this.controls.update();
    this.draw();
  }

  fit(box) {
    const size = box.getSize(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    const radius = Math.max(size.length() / 2, 1);
    const distance = radius / Math.sin((this.camera.fov * Math.PI) / 360);
    this.camera.near = distance / 1000;
    this.camera.far = distance * 100;
    this.camera.position.copy(center).add(new THREE.Vector3(0.6, 0.55, 0.9).normalize().multiplyScalar(distance));
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(center);
    this.controls.update();
    this.controls.saveState();
  }

  draw() {
    if (this.tiles) {
      this.camera.updateMatrixWorld();
      this.tiles.update();
    }
    this.renderer.render(this.scene, this.camera);
    this.dirty = false;
  }

  drawn(summary) {
    // the last part's frame is drawn already or about to be (drawSoon): not again
    if (this.dirty && !this.drawPending) this.draw();
    const ms = Math.round(performance.now() - this.started);
    this.root.dataset.drawnMs = String(ms);
    this.root.dataset.state = 'drawn';
    this.summary.textContent = summary;
    this.say(t(this.root, 'ready'));
  }

  fail(message) {
    this.root.dataset.state = 'error';
    this.say(message);
  }

  async fetchBody(url, asJson) {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(t(this.root, 'httpError') + ' ' + response.status);
    const total = Number(response.headers.get('Content-Length')) || 0;
    const reader = response.body.getReader();
    const chunks = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      this.say(t(this.root, 'loading') + ' ' + fmt(loaded / 1e6, 1) + (total ? ' / ' + fmt(total / 1e6, 1) : '') + ' MB');
    }
    const blob = new Blob(chunks);
    if (!asJson) return blob.arrayBuffer();
    this.say(t(this.root, 'reading'));
    await yieldToPage();
    return JSON.parse(await blob.text());
  }

  // the first part of the model on the screen (later parts are drawn as they come)
  firstFrame() {
    if (this.root.dataset.firstFrameMs) return;
    this.draw();
    this.root.dataset.firstFrameMs = String(Math.round(performance.now() - this.started));
  }

  drawSoon() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      if (this.dirty) this.draw();
    });
  }

  async loadCityJSON(url) {
    const worker = cityjsonWorker();
    let result = worker ? await this.cityjsonInWorker(worker, url) : null;
    this.root.dataset.reader = result ? 'worker' : 'page';
    if (!result) {
      // no Worker (or it could not start): read on the page's thread, in slices
      const doc = await this.fetchBody(url, true);
      this.say(t(this.root, 'building'));
      result = await cityjsonToGeometry(doc, THREE, yieldToPage);
      const material = new THREE.MeshLambertMaterial({ vertexColors: true, side: THREE.DoubleSide });
      this.scene.add(new THREE.Mesh(result.geometry, material));
      result.geometry.computeBoundingBox();
      this.fit(result.geometry.boundingBox);
      this.firstFrame();
    }
    this.describeCityJSON(result);
  }

  cityjsonInWorker(worker, url) {
    const material = new THREE.MeshLambertMaterial({ vertexColors: true, side: THREE.DoubleSide });
    let heard = false;
    return new Promise((resolve, reject) => {
      const end = (value, error) => {
        worker.terminate();
        URL.revokeObjectURL(worker.blobUrl);
        if (error) reject(error);
        else resolve(value);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        // a Worker that never spoke could not start: the page reads the file itself
        end(null, heard ? new Error(event.message || 'worker') : null);
      };
      worker.onmessage = (event) => {
        heard = true;
        const m = event.data;
        if (m.type === 'progress') {
          this.say(t(this.root, 'loading') + ' ' + fmt(m.loaded / 1e6, 1) + (m.total ? ' / ' + fmt(m.total / 1e6, 1) : '') + ' MB');
        } else if (m.type === 'reading') {
          this.say(t(this.root, 'reading'));
        } else if (m.type === 'building') {
          this.say(t(this.root, 'building'));
        } else if (m.type === 'extent') {
          const b = m.box;
          this.fit(new THREE.Box3(new THREE.Vector3(b[0], b[1], b[2]), new THREE.Vector3(b[3], b[4], b[5])));
        } else if (m.type === 'chunk') {
          const geometry = new THREE.BufferGeometry();
          geometry.setAttribute('position', new THREE.BufferAttribute(m.positions, 3));
          geometry.setAttribute('normal', new THREE.BufferAttribute(m.normals, 3));
          geometry.setAttribute('color', new THREE.BufferAttribute(m.colours, 3));
          this.scene.add(new THREE.Mesh(geometry, material));
          this.dirty = true;
          if (this.root.dataset.firstFrameMs) this.drawSoon();
          else this.firstFrame();
        } else if (m.type === 'http') {
          end(null, new Error(t(this.root, 'httpError') + ' ' + m.status));
        } else if (m.type === 'error') {
          end(null, new Error(m.message));
        } else if (m.type === 'done') {
          end(m.summary, null);
        }
      };
      worker.postMessage({ url: new URL(url, window.location.href).href });
    });
  }

  describeCityJSON(result) {
    const parts = [t(this.root, 'objects') + ': ' + fmt(result.objectCount)];
    const types = Object.entries(result.types).sort((a, b) => b[1] - a[1])
      .map(([type, n]) => type + ' ' + fmt(n)).join(', ');
    if (types) parts.push(t(this.root, 'types') + ': ' + types);
    parts.push(t(this.root, 'surfaces') + ': ' + fmt(result.surfaceCount));
    const e = result.extent;
    parts.push(t(this.root, 'extent') + ': ' + fmt(e[3] - e[0]) + ' × ' + fmt(e[4] - e[1]) + ' m, ' +
      t(this.root, 'height') + ' ' + fmt(e[5] - e[2], 1) + ' m');
    if (result.lods.length) parts.push('LoD: ' + result.lods.join(', '));
    parts.push(t(this.root, 'crs') + ': ' + (result.crs || t(this.root, 'notStated')));
    if (result.skipped) parts.push(t(this.root, 'skipped') + ': ' + fmt(result.skipped));
    this.drawn(parts.join('. ') + '.');
  }

  describeObject(object) {
    const box = new THREE.Box3().setFromObject(object);
    let meshes = 0;
    let triangles = 0;
    object.traverse((child) => {
      if (child.isMesh) {
        meshes += 1;
        const g = child.geometry;
        triangles += (g.index ? g.index.count : g.attributes.position.count) / 3;
      }
    });
    const size = box.getSize(new THREE.Vector3());
    return { box, meshes, triangles, size };
  }

  async loadGLTF(url) {
    const buffer = await this.fetchBody(url, false);
    const base = new URL(url, window.location.href).href.replace(/[^/]*$/, '');
    const manager = new THREE.LoadingManager();
    manager.setURLModifier(ownOriginOnly);
    const gltf = await new GLTFLoader(manager).parseAsync(buffer, base);
    this.scene.add(gltf.scene);
    const d = this.describeObject(gltf.scene);
    this.fit(d.box);
    const parts = [
      t(this.root, 'meshes') + ': ' + fmt(d.meshes),
      t(this.root, 'triangles') + ': ' + fmt(d.triangles),
      t(this.root, 'extent') + ': ' + fmt(d.size.x, 1) + ' × ' + fmt(d.size.z, 1) + ' × ' + fmt(d.size.y, 1) + ' ' + t(this.root, 'units'),
      t(this.root, 'crs') + ': ' + t(this.root, 'notStated'),
    ];
    this.drawn(parts.join('. ') + '.');
  }

  async loadTiles(url) {
    const tileset = await this.fetchBody(url, true);
    const tiles = new TilesRenderer(url);
    tiles.manager.setURLModifier(ownOriginOnly);
    tiles.registerPlugin({ name: 'UDP_OWN_ORIGIN_ONLY', preprocessURL: (uri) => ownOriginOnly(String(uri)) });
    this.tiles = tiles;
    tiles.setCamera(this.camera);
    tiles.setResolutionFromRenderer(this.camera, this.renderer);
    // 3D Tiles are z-up; three.js is y-up
    tiles.group.rotation.x = -Math.PI / 2;
    this.scene.add(tiles.group);
    let fitted = false;
    let count = 0;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(t(this.root, 'timeout'))), 60000);
      tiles.addEventListener('load-model', () => {
        count += 1;
        fitted = true;
        clearTimeout(timer);
        resolve();
      });
      tiles.addEventListener('load-error', (event) => {
        clearTimeout(timer);
        reject(new Error(t(this.root, 'tileError') + (event && event.url ? ': ' + event.url : '')));
      });
      const pump = () => {
        if (fitted) return;
        this.draw();
        requestAnimationFrame(pump);
      };
      pump();
    });
    // a loaded tile joins the scene on the next update: then the view is fitted to it
    this.draw();
    this.draw();
    tiles.group.updateMatrixWorld(true);
    this.fit(new THREE.Box3().setFromObject(tiles.group));
    // keep loading the finer tiles for a while after the first one
    let frames = 0;
    const settle = () => {
      this.draw();
      if (frames++ < 120) requestAnimationFrame(settle);
    };
    settle();
    const box = new THREE.Box3().setFromObject(tiles.group);
    const size = box.getSize(new THREE.Vector3());
    const parts = [
      '3D Tiles ' + ((tileset.asset && tileset.asset.version) || ''),
      t(this.root, 'extent') + ': ' + fmt(size.x, 1) + ' × ' + fmt(size.z, 1) + ' × ' + fmt(size.y, 1) + ' m',
      t(this.root, 'tilesLoaded') + ': ' + fmt(count),
    ];
    const crs = tileset.extras && (tileset.extras.crs || tileset.extras.referenceSystem);
    parts.push(t(this.root, 'crs') + ': ' + (crs || t(this.root, 'notStated')));
    this.drawn(parts.join('. ') + '.');
  }

  async start() {
    const url = this.root.dataset.url;
    const kind = this.root.dataset.kind;
    if (!url || !sameOrigin(url)) {
      this.fail(t(this.root, 'external'));
      return;
    }
    try {
      this.setup();
    } catch (e) {
      this.fail(t(this.root, 'noWebgl'));
      return;
    }
    try {
      if (kind === 'cityjson') await this.loadCityJSON(url);
      else if (kind === 'tiles') await this.loadTiles(url);
      else await this.loadGLTF(url);
    } catch (e) {
      this.fail(t(this.root, 'failed') + ' (' + (e && e.message ? e.message : e) + ')');
    }
  }
}

function init() {
  document.querySelectorAll('.udp-view3d[data-url]').forEach((root) => {
    if (root.dataset.state) return;
    root.dataset.state = 'loading';
    const button = root.querySelector('.udp-view3d-start');
    const go = () => {
      if (button) button.hidden = true;
      new Viewer(root).start();
    };
    // a large file is loaded when asked for (the note says how large it is)
    if (button && root.dataset.ask === '1') {
      root.dataset.state = 'waiting';
      button.hidden = false;
      button.addEventListener('click', go, { once: true });
    } else {
      go();
    }
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
