// Runs a command with Dawn pointed at SwiftShader (the CPU Vulkan driver inside Debian's chromium
// package) unless the environment already names a Vulkan driver. On a machine with a real GPU set
// SLIMFIELD_REAL_GPU=1 to leave the Vulkan loader alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env };
const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!env.SLIMFIELD_REAL_GPU && !env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES) {
  if (existsSync(icd)) {
    env.VK_ICD_FILENAMES = icd;
    // chromium ships its own Vulkan loader; use it when Debian's libvulkan1 is absent.
    env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  } else {
    console.error(`note: ${icd} not found (install Debian's chromium package for SwiftShader); using the system Vulkan driver`);
  }
}
const [cmd, ...args] = process.argv.slice(2);
const r = spawnSync(cmd, args, { stdio: 'inherit', env });
process.exit(r.status ?? 1);
