// Reelsmith embed, protocol v1 (relay/API.md, "Embedding"). A partner page loads this file
// from the relay with <script src="https://<relay>/embed.js"> and calls
// Reelsmith.mount(element, options) to put the editor in an iframe. Messages go only to the
// relay's origin and are accepted only from the editor's own frame; the editor, in turn,
// talks only to this page's origin, which the relay must list (REELSMITH_PARTNER_ORIGINS).
(function () {
  'use strict';
  var V = 1;
  // The relay is wherever this script came from (read now: currentScript is gone later).
  var script = document.currentScript;
  var RELAY = script && script.src ? new URL(script.src).origin : null;

  function mount(element, options) {
    options = options || {};
    if (!RELAY) throw new Error('Reelsmith: load embed.js with a <script src="…/embed.js"> tag.');
    if (!(element instanceof Element)) throw new TypeError('Reelsmith.mount(element, options): element must be a DOM element.');
    if (location.origin === 'null') throw new Error('Reelsmith: this page has no origin (file:// or sandboxed); serve it over http(s).');

    var frame = document.createElement('iframe');
    frame.src = RELAY + '/embed?parent=' + encodeURIComponent(location.origin);
    frame.title = options.title || 'Reelsmith clip editor';
    frame.allow = 'fullscreen';
    frame.style.cssText = 'border:0;width:100%;height:100%;display:block';
    var listeners = {};
    var pending = {};
    var queue = [];
    var nextId = 1;
    var ready = false;

    function emit(type, data) {
      (listeners[type] || []).slice().forEach(function (fn) {
        try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }
    function post(message) {
      frame.contentWindow.postMessage(message, RELAY);
    }
    function onMessage(event) {
      // Exactly the editor in this handle's frame: other frames and windows are ignored.
      if (event.origin !== RELAY || event.source !== frame.contentWindow) return;
      var m = event.data;
      if (!m || m.v !== V || typeof m.type !== 'string') return;
      if (m.type === 'ready') {
        ready = true;
        queue.splice(0).forEach(post);
      }
      if ((m.type === 'done' || m.type === 'error') && typeof m.id === 'number' && pending[m.id]) {
        var p = pending[m.id];
        delete pending[m.id];
        if (m.type === 'done') p.resolve(m);
        else p.reject(Object.assign(new Error(m.message), { code: m.code }));
        return;
      }
      emit(m.type, m);
    }
    window.addEventListener('message', onMessage);

    // Sends a command once the editor listens; resolves on `done`, rejects on `error`.
    function send(type, fields) {
      var id = nextId++;
      var message = Object.assign({ v: V, type: type, id: id }, fields);
      return new Promise(function (resolve, reject) {
        pending[id] = { resolve: resolve, reject: reject };
        if (ready) post(message);
        else queue.push(message);
      });
    }

    var handle = {
      frame: frame,
      /** Opens a video: a File/Blob (handed over, not uploaded) or a URL the editor fetches. */
      open: function (source, name) {
        if (source instanceof Blob) return send('open', { file: source, name: name || source.name || 'video' });
        return send('open', { url: new URL(String(source), location.href).href, name: name });
      },
      setTheme: function (theme) { return send('set-theme', { theme: theme }); },
      setTargetLength: function (secs) { return send('set-target-length', { secs: secs }); },
      setTemplate: function (template) { return send('set-template', { template: template }); },
      /** Events: ready, transcript-ready, clip-exported ({ blob, name, … }), publish-done, error. */
      on: function (type, fn) {
        (listeners[type] = listeners[type] || []).push(fn);
        return handle;
      },
      off: function (type, fn) {
        listeners[type] = (listeners[type] || []).filter(function (f) { return f !== fn; });
        return handle;
      },
      destroy: function () {
        window.removeEventListener('message', onMessage);
        frame.remove();
        Object.keys(pending).forEach(function (id) {
          pending[id].reject(Object.assign(new Error('The editor was removed.'), { code: 'destroyed' }));
        });
        pending = {};
      },
    };
    // Settings given at mount are sent first; their failures are `error` events.
    var reportError = function (e) { emit('error', { v: V, type: 'error', code: e.code, message: e.message }); };
    if (options.theme) handle.setTheme(options.theme).catch(reportError);
    if (options.targetSecs) handle.setTargetLength(options.targetSecs).catch(reportError);
    if (options.template) handle.setTemplate(options.template).catch(reportError);
    element.appendChild(frame);
    return handle;
  }

  window.Reelsmith = { version: V, mount: mount };
})();
