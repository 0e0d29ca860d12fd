# frozen_string_literal: true

require 'open3'
require 'tmpdir'
require_relative '../spec_helper'

describe 'autoami::install' do
  # Private: tested through the class, as users declare it.
  let(:pre_condition) { "class { 'autoami': #{params_for_autoami.map { |k, v| "#{k} => #{v}" }.join(', ')} }" }
  let(:params_for_autoami) { {} }
  let(:config_file) { "#{Puppet[:confdir]}/autoami.yaml" }

  # Runs a wrapper the class writes, with `node` a stand-in script that prints what it was
  # given: $AUTOAMI_CONFIG, then each argument on a line of its own.
  def run_wrapper(path, args, env = {})
    Dir.mktmpdir do |dir|
      script = File.join(dir, 'wrapper')
      File.write(script, file_content(path))
      File.chmod(0o755, script)
      Open3.capture2e(env, '/bin/sh', script, *args)
    end
  end

  def fake_node(dir)
    path = File.join(dir, 'fake node')
    File.write(path, %(#!/bin/sh\nprintf 'AUTOAMI_CONFIG=%s\\n' "$AUTOAMI_CONFIG"\nprintf '%s\\n' "$@"\n))
    File.chmod(0o755, path)
    path
  end

  context 'with defaults' do
    it { is_expected.to compile.with_all_deps }

    it 'installs the built sidecar from the module, owned by root' do
      is_expected.to contain_file('/opt/autoami').with(
        ensure: 'directory', source: 'puppet:///modules/autoami/sidecar', recurse: true, purge: true, force: true,
        owner: 'root', group: 'root', mode: '0644', backup: false,
      )
    end

    # Inside the recursive tree, but resources of their own: the tree's 0644 would otherwise
    # reset them on every run, and Puppet Server cannot run a 0644 autosign command.
    %w[autoami.js autoami-autosign.js].each do |launcher|
      it "installs runtime/bin/#{launcher} 0755" do
        is_expected.to contain_file("/opt/autoami/runtime/bin/#{launcher}").with(
          ensure: 'file', source: "puppet:///modules/autoami/sidecar/runtime/bin/#{launcher}",
          owner: 'root', group: 'root', mode: '0755', backup: false,
        )
      end
    end

    it 'writes the autosign command, 0755, naming the class configuration' do
      is_expected.to contain_file('/opt/autoami/bin').with(ensure: 'directory', owner: 'root', group: 'root', mode: '0755')
      is_expected.to contain_file('/opt/autoami/bin/autoami-autosign').with(ensure: 'file', owner: 'root', group: 'root', mode: '0755')
      text = file_content('/opt/autoami/bin/autoami-autosign')
      expect(text).to start_with("#!/bin/sh\n")
      expect(text.lines.map(&:chomp)).to include(
        "AUTOAMI_CONFIG='#{config_file}'",
        'export AUTOAMI_CONFIG',
        %(exec '/usr/bin/node' '/opt/autoami/runtime/bin/autoami-autosign.js' "$@"),
      )
    end

    it 'installs the autoami command, 0755, root-owned' do
      is_expected.to contain_file('/usr/local/bin/autoami').with(ensure: 'file', owner: 'root', group: 'root', mode: '0755')
      text = file_content('/usr/local/bin/autoami')
      expect(text).to start_with("#!/bin/sh\n")
      expect(text).to include(%(exec '/usr/bin/node' '/opt/autoami/runtime/bin/autoami.js' "$@"\n))
    end

    it 'keeps every file of the tree root-owned' do
      catalogue.resources.select { |r| r.type == 'File' && r.title.start_with?('/opt/autoami') }.each do |file|
        expect(file[:owner]).to eq('root'), file.ref
      end
    end
  end

  context 'with paths a shell would split or unquote' do
    let(:stand_in_node) { fake_node(Dir.mktmpdir) }
    let(:params_for_autoami) do
      { node_binary: "'#{stand_in_node}'", install_dir: %q('/opt/auto ami'), config_dir: %q('/etc/it\'s $HOME'), command_path: %q('/usr/local/bin/auto ami') }
    end
    let(:config_file) { "/etc/it's $HOME/autoami.yaml" }

    after { FileUtils.rm_rf(File.dirname(stand_in_node)) }

    it 'runs node on the launcher with the arguments as given' do
      output, status = run_wrapper('/usr/local/bin/auto ami', ['version', 'two words', '$x'])
      expect(status).to be_success, output
      expect(output.lines.map(&:chomp)).to eq(["AUTOAMI_CONFIG=#{config_file}", '/opt/auto ami/runtime/bin/autoami.js', 'version', 'two words', '$x'])
    end

    it 'lets $AUTOAMI_CONFIG name another file for the autoami command' do
      output, status = run_wrapper('/usr/local/bin/auto ami', ['version'], 'AUTOAMI_CONFIG' => '/tmp/other.yaml')
      expect(status).to be_success, output
      expect(output.lines.first.chomp).to eq('AUTOAMI_CONFIG=/tmp/other.yaml')
    end

    it 'always gives the autosign command the class configuration' do
      output, status = run_wrapper('/opt/auto ami/bin/autoami-autosign', ['db-i-0abc.autoami'], 'AUTOAMI_CONFIG' => '/tmp/other.yaml')
      expect(status).to be_success, output
      expect(output.lines.map(&:chomp)).to eq(["AUTOAMI_CONFIG=#{config_file}", '/opt/auto ami/runtime/bin/autoami-autosign.js', 'db-i-0abc.autoami'])
    end
  end

  context 'with another command_path' do
    let(:params_for_autoami) { { command_path: "'/usr/bin/autoami'" } }

    it { is_expected.to contain_file('/usr/bin/autoami').with_mode('0755') }
    it { is_expected.not_to contain_file('/usr/local/bin/autoami') }
  end

  context 'with manage_command off' do
    let(:params_for_autoami) { { manage_command: false } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_file('/usr/local/bin/autoami') }
  end

  context 'with manage_install off' do
    let(:params_for_autoami) { { manage_install: false } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_file('/opt/autoami') }
    it { is_expected.not_to contain_file('/opt/autoami/bin/autoami-autosign') }
    it { is_expected.not_to contain_file('/opt/autoami/runtime/bin/autoami.js') }

    it 'still installs the autoami command' do
      is_expected.to contain_file('/usr/local/bin/autoami')
    end
  end
end
