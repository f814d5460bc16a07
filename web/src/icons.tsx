/** Line icons drawn for Parley (24x24, stroke = currentColor); decorative: buttons carry the labels. */
import type { ComponentChildren } from 'preact';

function Svg(props: { children: ComponentChildren }) {
  return (
    <svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
      {props.children}
    </svg>
  );
}

export const NewChatIcon = () => <Svg><path d="M4 5h11M4 5v11l3-3h8a2 2 0 0 0 2-2V9" /><path d="M19 2v6M16 5h6" /></Svg>;
export const GroupIcon = () => <Svg><circle cx="9" cy="8" r="3.2" /><path d="M3 19c.6-3.2 3-5 6-5s5.4 1.8 6 5" /><circle cx="17" cy="9" r="2.5" /><path d="M16.5 14c2.4.2 4 1.8 4.5 4.5" /></Svg>;
export const LogoutIcon = () => <Svg><path d="M10 4H6a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h4" /><path d="M15 8l4 4-4 4M19 12H9" /></Svg>;
export const BackIcon = () => <Svg><path d="M15 5l-7 7 7 7" /></Svg>;
export const InfoIcon = () => <Svg><circle cx="12" cy="12" r="9" /><path d="M12 11v6M12 7.5v.5" /></Svg>;
export const SendIcon = () => <Svg><path d="M4 12l16-8-6 16-2.5-6.5z" /><path d="M11.5 13.5L20 4" /></Svg>;
export const CloseIcon = () => <Svg><path d="M6 6l12 12M18 6L6 18" /></Svg>;
export const ClockIcon = () => <Svg><circle cx="12" cy="12" r="8" /><path d="M12 8v4l3 2" /></Svg>;
export const ImageIcon = () => <Svg><rect x="3" y="5" width="18" height="14" rx="2" /><circle cx="9" cy="10" r="1.8" /><path d="M21 16l-5-5-8 8" /></Svg>;
export const TickIcon = (props: { double?: boolean }) => (
  <svg viewBox="0 0 20 12" width="18" height="11" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
    {props.double ? <path d="M1.5 6.5l3.5 3.5 7-8M9 10l7-8" /> : <path d="M4 6.5l3.5 3.5 7-8" />}
  </svg>
);
export const AccountIcon = () => <Svg><circle cx="12" cy="8" r="3.5" /><path d="M5 20c.8-3.8 3.6-6 7-6s6.2 2.2 7 6" /></Svg>;
