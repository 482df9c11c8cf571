import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { BenchmarkPage } from './BenchmarkPage.tsx';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html is missing #root');
// `?bench` is the in-app benchmark page; anything else the studio.
const bench = new URLSearchParams(location.search).has('bench');
createRoot(root).render(<StrictMode>{bench ? <BenchmarkPage /> : <App />}</StrictMode>);
