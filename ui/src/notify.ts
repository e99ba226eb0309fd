// An OS notification when a render ends while the window is in the background.
import { isPermissionGranted, requestPermission, sendNotification } from "@tauri-apps/plugin-notification";

export async function notifyIfHidden(title: string, body: string) {
  if (!document.hidden && document.hasFocus()) return;
  try {
    let granted = await isPermissionGranted();
    if (!granted) granted = (await requestPermission()) === "granted";
    if (granted) sendNotification({ title, body });
  } catch {
    // No notification service (a bare test session): the result is on screen anyway.
  }
}
