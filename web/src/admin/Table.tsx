/** The admin screens' tables: scrolling, one header row. */
import type { ReactNode } from 'react';

/** A scrolling table with one header row; `children` are its body rows. */
export function Table({
  headers,
  className = 'table',
  children,
}: {
  headers: ReactNode[];
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className="table-scroll">
      <table className={className}>
        <thead>
          <tr>
            {headers.map((header, i) => (
              <th key={i}>{header}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
