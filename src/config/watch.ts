// Reloads the config file when it changes on disk (debounced) or on SIGHUP; an invalid new file is reported, never applied.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadConfigFile } from './load.ts';
import type { ConfigOverrides } from './overrides.ts';
import type { NodeConfig } from './schema.ts';

export interface WatchConfigOptions {
  file: string;
  /** Flags and FLOWROUTER_* values the node started with, so a reload resolves the same way. */
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  debounceMs?: number;
  /** Also reload on SIGHUP (default true). */
  sighup?: boolean;
  onConfig: (config: NodeConfig) => void;
  onError: (err: unknown) => void;
}

export interface ConfigWatcher {
  start(): void;
  stop(): void;
  /** Loads the file now and applies it, or reports why not. */
  reloadNow(): void;
}

export function watchConfig(opts: WatchConfigOptions): ConfigWatcher {
  const debounceMs = opts.debounceMs ?? 200;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  function reloadNow(): void {
    let config: NodeConfig;
    try {
      config = loadConfigFile(opts.file, opts.env ?? process.env, opts.overrides);
    } catch (err) {
      opts.onError(err);
      return;
    }
    opts.onConfig(config);
  }

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(reloadNow, debounceMs);
  }

  const onSighup = () => reloadNow();
  const name = basename(opts.file);

  return {
    start() {
      if (watcher) return;
      // Editors often replace the file (write + rename), which a watch on the file itself would miss: watch its folder.
      watcher = watch(dirname(opts.file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) schedule();
      });
      watcher.on('error', (err) => opts.onError(err));
      if (opts.sighup !== false) process.on('SIGHUP', onSighup);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      watcher?.close();
      watcher = undefined;
      process.off('SIGHUP', onSighup);
    },
    reloadNow,
  };
}
