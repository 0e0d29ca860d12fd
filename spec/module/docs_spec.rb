# frozen_string_literal: true

require_relative 'spec_helper'

# puppet-strings documentation: every class has a @summary, every parameter of the public
# class a @param, and every @param names a real parameter.
describe 'module documentation' do
  manifests = Dir[File.join(REPO_ROOT, 'module', 'manifests', '**', '*.pp')].sort

  it 'has manifests' do
    expect(manifests).not_to be_empty
  end

  manifests.each do |file|
    source = File.read(file)
    name = source[%r{^class\s+([a-z0-9_:]+)}, 1]

    context File.basename(file) do
      it 'declares one class' do
        expect(name).not_to be_nil
      end

      it 'has a @summary' do
        expect(source).to match(%r{^# @summary\n#   \S})
      end

      signature = source[%r{^class\s+[a-z0-9_:]+\s*\((.*?)^\)\s*\{}m, 1] || ''
      params = signature.scan(%r{\$([a-z_][a-z0-9_]*)\s*[=,]}).flatten
      documented = source.scan(%r{^# @param ([a-z_][a-z0-9_]*)\n#   \S}).flatten

      it 'documents every parameter' do
        expect(params - documented).to be_empty
      end

      it 'documents only real parameters' do
        expect(documented - params).to be_empty
      end

      it 'marks private classes @api private' do
        expect(source).to include('# @api private') unless name == 'autoami'
      end
    end
  end

  it 'finds the parameters of class autoami (so the checks above are not vacuous)' do
    init = File.read(File.join(REPO_ROOT, 'module', 'manifests', 'init.pp'))
    signature = init[%r{^class autoami \((.*?)^\) \{}m, 1]
    expect(signature.scan(%r{\$([a-z_][a-z0-9_]*)\s*[=,]}).flatten).to include('db_user', 'db_password', 'manage_db', 'service_ensure', 'protect_home')
  end
end
