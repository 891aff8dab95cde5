// The React side of the panel: a div for the wasm to draw into, and Grafana's context menu for
// a node's data links. Everything else (reading frames, layout, drawing, tooltip, zoom) is Rust.
import { type LinkModel, type PanelProps } from '@grafana/data';
import { ContextMenu, MenuItem, useTheme2 } from '@grafana/ui';
import React, { useEffect, useRef, useState } from 'react';

import { handOver, nodeLinks, type TopologyOptions } from './handoff';
import { loadWasm, type WasmPanel } from './wasm';

interface Menu {
  x: number;
  y: number;
  links: LinkModel[];
}

const messageStyle: React.CSSProperties = {
  display: 'flex',
  alignItems: 'center',
  justifyContent: 'center',
  height: '100%',
  padding: 16,
  textAlign: 'center',
};

export function TopologyPanel({ data, width, height, options, replaceVariables }: PanelProps<TopologyOptions>) {
  const theme = useTheme2();
  const host = useRef<HTMLDivElement>(null);
  const panel = useRef<WasmPanel | null>(null);
  const latest = useRef({ data, replaceVariables });
  latest.current = { data, replaceVariables };
  const [ready, setReady] = useState(false);
  const [failure, setFailure] = useState<string>();
  const [menu, setMenu] = useState<Menu>();

  useEffect(() => {
    let gone = false;
    loadWasm()
      .then((wasm) => {
        if (gone || !host.current) {
          return;
        }
        panel.current = new wasm.TopologyPanel(host.current, (frameIndex, row, x, y) => {
          const { data, replaceVariables } = latest.current;
          const links = nodeLinks(data.series[frameIndex], row, replaceVariables);
          if (links.length) {
            setMenu({ x, y, links });
          }
        });
        setReady(true);
      })
      .catch((e) => setFailure(`The topology panel could not load its WebAssembly: ${e?.message ?? e}`));
    return () => {
      gone = true;
      panel.current?.free();
      panel.current = null;
    };
  }, []);

  useEffect(() => {
    const p = panel.current;
    if (!ready || !p) {
      return;
    }
    try {
      handOver(p, data, options, theme);
      p.resize(width, height);
      p.render();
      setFailure(undefined);
    } catch (e) {
      setFailure(`The topology panel failed to draw: ${(e as Error)?.message ?? e}`);
    }
    // Size changes only refit (below); data, options and theme redraw.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, data, options, theme]);

  useEffect(() => {
    if (ready && panel.current) {
      panel.current.resize(width, height);
    }
  }, [ready, width, height]);

  return (
    <div style={{ position: 'relative', width, height }} data-testid="pipeline-topology-panel">
      {failure && (
        <div role="alert" style={{ ...messageStyle, color: theme.colors.error.text }}>
          {failure}
        </div>
      )}
      <div ref={host} style={{ display: failure ? 'none' : 'block' }} />
      {menu && (
        <ContextMenu
          x={menu.x}
          y={menu.y}
          onClose={() => setMenu(undefined)}
          renderMenuItems={() =>
            menu.links.map((link, i) => (
              <MenuItem
                key={i}
                label={link.title || link.href}
                url={link.href}
                target={link.target}
                onClick={
                  link.onClick
                    ? (e) => {
                        link.onClick?.(e as React.MouseEvent);
                        setMenu(undefined);
                      }
                    : undefined
                }
              />
            ))
          }
        />
      )}
    </div>
  );
}
