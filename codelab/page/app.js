// The draw-a-digit page: draw on #pad, prepare the drawing as MNIST digits were
// (prepare.js), ask the model through TensorFlow Serving's REST API, show the answer.
// <html data-state="busy"> while a prediction is under way, "ready" when the page
// shows the answer to the drawing as it is.
"use strict";

const MODEL = new URLSearchParams(location.search).get("model") || "mnist";
const API = `v1/models/${encodeURIComponent(MODEL)}`;  // relative: works behind a proxy too
const STROKE_WIDTH = 20;  // on the 280-pixel pad: MNIST's 2-3 pixels in a 20-pixel digit

const pad = document.getElementById("pad");
const ink = pad.getContext("2d", { willReadFrequently: true });
const seen = document.getElementById("seen").getContext("2d");
const statusLine = document.getElementById("status");
const predictionBox = document.getElementById("prediction");
const bars = [];

// ---------------------------------------------------------------- the answer

function makeBars() {
  const list = document.getElementById("bars");
  for (let digit = 0; digit < 10; digit++) {
    const item = document.createElement("li");
    item.innerHTML = `<span class="digit">${digit}</span><span class="bar"><span class="fill">` +
      `</span></span><span class="value"></span>`;
    list.appendChild(item);
    bars.push(item);
  }
}

function showAnswer(probabilities) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  bars.forEach((item, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    item.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector(".value").textContent = `${(100 * p).toFixed(1)} %`;
    item.classList.toggle("best", digit === best);
  });
  predictionBox.textContent = String(best);
}

function showNothing() {
  bars.forEach((item) => {
    item.querySelector(".fill").style.width = "0";
    item.querySelector(".value").textContent = "";
    item.classList.remove("best");
  });
  predictionBox.textContent = "";
  seen.fillStyle = "black";
  seen.fillRect(0, 0, 28, 28);
}

function showSeen(field) {
  const image = seen.createImageData(28, 28);
  field.forEach((v, i) => {
    const level = Math.round(255 * v);
    image.data.set([level, level, level, 255], 4 * i);
  });
  seen.putImageData(image, 0, 0);
}

function showStatus(text, isError) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", Boolean(isError));
}

// ---------------------------------------------------------------- the REST API

async function call(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

async function connect() {
  try {
    const status = await call(API);
    const version = status.model_version_status[0];
    const metadata = await call(`${API}/metadata`);
    const signature = metadata.metadata.signature_def.signature_def.serving_default;
    const inputs = Object.values(signature ? signature.inputs : {});
    const dims = inputs.length === 1 ? inputs[0].tensor_shape.dim.map((d) => d.size) : [];
    if (dims.join() !== "-1,28,28,1") {
      showStatus(`model ${MODEL} does not take 28 x 28 images (serving_default: ` +
        `${JSON.stringify(dims)}): serve a stage's --save-model folder`, true);
      return;
    }
    showStatus(`model ${MODEL}, version ${version.version}: ${version.state.toLowerCase()}`);
  } catch (error) {
    showStatus(`cannot reach model ${MODEL}: ${error.message}`, true);
  }
}

async function readDigit() {
  const field = MnistPrepare.prepareDigit(ink.getImageData(0, 0, pad.width, pad.height));
  if (!field) {
    showNothing();
    return;
  }
  showSeen(field);
  const image = [];  // [28][28][1], as the signature takes it
  for (let y = 0; y < 28; y++) {
    image.push(Array.from(field.subarray(28 * y, 28 * y + 28), (v) => [v]));
  }
  try {
    const answer = await call(`${API}:predict`,
      { signature_name: "serving_default", instances: [image] });
    let prediction = answer.predictions[0];
    if (!Array.isArray(prediction)) prediction = prediction.probabilities;  // several outputs
    showAnswer(prediction);
  } catch (error) {
    showStatus(`the model could not answer: ${error.message}`, true);
  }
}

// At most one request under way; a drawing that changed meanwhile is read again after.
let reading = false;
let changed = false;
async function scheduleReading() {
  changed = true;
  if (reading) return;
  reading = true;
  document.documentElement.dataset.state = "busy";
  while (changed) {
    changed = false;
    await readDigit();
  }
  reading = false;
  document.documentElement.dataset.state = "ready";
}

// ---------------------------------------------------------------- drawing

function clearPad() {
  ink.fillStyle = "white";
  ink.fillRect(0, 0, pad.width, pad.height);
  scheduleReading();
}

function pointOf(event) {  // page pixels -> the pad's own pixels
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
    (event.clientY - box.top) * pad.height / box.height];
}

let last = null;
pad.addEventListener("pointerdown", (event) => {
  if (event.pointerType === "mouse" && event.button !== 0) return;
  pad.setPointerCapture(event.pointerId);
  last = pointOf(event);
  ink.beginPath();
  ink.arc(last[0], last[1], STROKE_WIDTH / 2, 0, 2 * Math.PI);
  ink.fillStyle = "black";
  ink.fill();
  event.preventDefault();
});
pad.addEventListener("pointermove", (event) => {
  if (!last) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const each of events.length ? events : [event]) {
    const point = pointOf(each);
    ink.beginPath();
    ink.moveTo(last[0], last[1]);
    ink.lineTo(point[0], point[1]);
    ink.stroke();
    last = point;
  }
  scheduleReading();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!last) return;
    last = null;
    scheduleReading();
  });
}

ink.lineWidth = STROKE_WIDTH;
ink.lineCap = "round";
ink.lineJoin = "round";
ink.strokeStyle = "black";
document.getElementById("clear").addEventListener("click", clearPad);
document.getElementById("api").textContent = `POST /${API}:predict`;
makeBars();
showNothing();
clearPad();
connect();
